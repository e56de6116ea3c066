"""A vendor's refusal in the reader's language (issue 17), part of the one catalogue
(:mod:`pipeline.messages` merges it in): the reasons and hints that the Facebook, Zalo, Telegram,
Mastodon, WordPress and webhook publishers raise when the vendor says no. The vendor's own words
stay an argument ({message}, {what} of Facebook's token codes aside), untranslated: they are what a
staff member quotes to the vendor's support. Each English text is the one these errors always had,
so logs, ``str()`` and the ledger's English read the same.

Kept apart from :mod:`pipeline.messages` only so neither file grows past a readable size; every
code starts with its channel type.
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # what follows a held channel's reason in loa publish (publish.py, pass.held)
    "pass.held.hint": (" — {hint}", " — {hint}"),
    # a plan decision's reason for a post on a held channel (plan.py; status.reason_text shows it as reason.auth)
    "plan.reason-auth": ("auth: {detail}", "auth: {detail}"),
    # an item another worker is sending now (plan.py)
    "plan.reason-sending": ("đang được {owner} gửi", "being sent by {owner}"),
    # a post too late to be published on a channel with max_lateness (plan.py): skipped, not sent late
    "plan.reason-stale": ("quá hạn: lẽ ra đăng lúc {due_vi}, nay đã trễ hơn {lateness_vi}",
                          "stale: due {due_en}, more than {lateness_en} ago"),
    # Facebook (publishers/facebook.py)
    "facebook.refused-token": ("Facebook từ chối mã truy cập của Trang: {what}", "Facebook refused the Page token: {what}"),
    "facebook.refused-token.fix": ("tạo mã truy cập Trang dài hạn mới cho trang {page} và đặt vào {env}; Loa giữ kênh này lại đến khi đó",
                                   "create a new long-lived Page access token for page {page} and put it in {env}; "
                                   "Loa holds this channel until then"),
    "facebook.token.458": ("ứng dụng Loa đã bị gỡ khỏi Trang hoặc tài khoản", "the Loa app was removed from the Page or the account"),
    "facebook.token.459": ("Facebook yêu cầu chủ tài khoản đăng nhập và qua bước kiểm tra bảo mật",
                           "Facebook wants the account owner to log in and pass a security checkpoint"),
    "facebook.token.460": ("mật khẩu tài khoản đã đổi nên mã truy cập mất hiệu lực",
                           "the account password was changed, which invalidated the token"),
    "facebook.token.463": ("mã truy cập đã hết hạn", "the token has expired"),
    "facebook.token.464": ("tài khoản đứng sau mã truy cập chưa được xác nhận", "the account behind the token is not confirmed"),
    "facebook.token.467": ("mã truy cập không còn hiệu lực (đã đăng xuất hoặc bị thu hồi)", "the token is no longer valid (logged out or revoked)"),
    "facebook.token.invalid": ("mã truy cập không hợp lệ", "the token is not valid"),
    "facebook.usage-pause": ("Facebook đã dùng {usage}% hạn mức của Trang này; Loa tạm dừng trước lần gọi sau",
                             "Facebook usage for this Page is at {usage}% of its limit; Loa pauses before the next call"),
    "facebook.usage-pause.fix": ("không cần làm gì: Loa giãn các lần gọi để Facebook không chặn Trang",
                                 "nothing to do: Loa spaces the calls out so that Facebook does not block the Page"),
    "facebook.limiting": ("Facebook đang hạn chế số lần gọi tới Trang này", "Facebook is limiting calls to this Page"),
    "facebook.temporary": ("Facebook đang gặp sự cố tạm thời", "Facebook had a temporary problem"),
    "facebook.looks-first": ("không cần làm gì: Loa tìm bài trước khi gửi lại", "nothing to do: Loa looks for the post before sending it again"),
    "vendor.retries-later": ("không cần làm gì: Loa sẽ tự thử lại sau", "nothing to do: Loa retries by itself later"),
    "vendor.retries": ("không cần làm gì: Loa tự thử lại", "nothing to do: Loa retries by itself"),
    "facebook.blocked": ("Facebook tạm chặn đăng bài trên Trang này vì lý do chính sách",
                         "Facebook has temporarily blocked posting on this Page for a policy reason"),
    "facebook.blocked.fix": ("xem chất lượng Trang trong Meta Business Suite; Loa sẽ không tự thử lại bài này",
                             "check Page quality in Meta Business Suite; Loa will not retry this post by itself"),
    "facebook.duplicate": ("Facebook từ chối bài vì trùng với bài ngay trước", "Facebook refused the post as a duplicate of the previous one"),
    "facebook.duplicate.fix": ("nội dung này đã là bài mới nhất của Trang: xem Trang trước khi gửi lại",
                               "the same text is already the Page's latest post: check the Page before sending again"),
    "facebook.no-permission": ("Facebook từ chối: ứng dụng hoặc mã truy cập thiếu quyền cho thao tác này",
                               "Facebook refused: the app or token lacks a permission for this action"),
    "facebook.no-permission.fix": ("mã truy cập cần quyền pages_manage_posts và pages_read_engagement, và ứng dụng chỉ sửa được "
                                   "bài do chính nó đăng",
                                   "the token needs pages_manage_posts and pages_read_engagement, and an app may only "
                                   "edit posts it made itself"),
    "facebook.bad-parameter": ("Facebook từ chối một tham số của bài", "Facebook refused a parameter of the post"),
    "facebook.bad-parameter.fix": ("kiểm tra liên kết và nội dung bài; lời của Facebook cho biết tham số nào",
                                   "check the post's link and text; the vendor's words say which parameter"),
    "facebook.refused-call": ("Facebook từ chối lệnh gọi (lỗi {label})", "Facebook refused the call (error {label})"),
    "vendor.read-message.retry": ("đọc lời của nhà cung cấp; loa retry gửi lại sau khi đã sửa",
                                  "read the vendor's message; loa retry sends it again once fixed"),
    "vendor.read-message": ("đọc lời của nhà cung cấp", "read the vendor's message"),
    "vendor.http-no-body": ("{vendor} trả lời HTTP {status} mà không có nội dung dùng được",
                            "{vendor} answered HTTP {status} without a usable body"),
    "http.failed": ("yêu cầu HTTP không thành", "HTTP request failed"),
    # Zalo (publishers/zalo.py)
    "zalo.refresh-refused": ("Zalo từ chối cấp lại mã truy cập", "Zalo refused to refresh the access token"),
    "zalo.token-refused": ("Zalo vẫn từ chối mã truy cập sau khi đã cấp lại: {message}",
                           "Zalo refused the access token even after a refresh: {message}"),
    "zalo.reauthorize": ("cấp quyền lại cho tài khoản OA trong trang dành cho nhà phát triển của Zalo, đặt mã làm mới mới "
                         "vào {var} rồi chạy `loa channels check`",
                         "authorize the Official Account again in the Zalo developer console, put the new refresh "
                         "token in {var} and run `loa channels check`"),
    "zalo.token-service": ("dịch vụ cấp mã của Zalo trả lời HTTP {status}", "Zalo's token service answered HTTP {status}"),
    "zalo.no-envelope": ("câu trả lời của Zalo cho {path} không đúng dạng thường lệ", "Zalo's answer to {path} is not its usual envelope"),
    "zalo.processing": ("Zalo vẫn đang xử lý: {message}", "Zalo is still processing: {message}"),
    "zalo.http": ("Zalo trả lời HTTP {status} cho {path}", "Zalo answered HTTP {status} to {path}"),
    "zalo.refused": ("Zalo từ chối {call}: {message} (lỗi {error})", "Zalo refused {call}: {message} (error {error})"),
    # Telegram (publishers/telegram.py)
    "telegram.wait": ("Telegram yêu cầu Loa chờ trước khi gửi vào nhóm/kênh này", "Telegram asked Loa to wait before sending to this chat"),
    "telegram.wait.fix": ("không cần làm gì: Loa gửi sau khi hết thời gian chờ", "nothing to do: Loa sends it after the wait"),
    "telegram.limiting": ("Telegram đang hạn chế tốc độ đăng của Loa", "Telegram is limiting how fast Loa may post"),
    "telegram.limiting.fix": ("không cần làm gì: Loa chờ đúng như Telegram yêu cầu", "nothing to do: Loa waits exactly as Telegram asks"),
    "telegram.temporary": ("Telegram đang gặp sự cố tạm thời", "Telegram had a temporary problem"),
    "telegram.temporary.in-doubt": ("không hỏi được Telegram xem tin đã tới chưa: Loa giữ tin lại chờ `loa resolve` thay vì gửi lại",
                                    "Telegram cannot be asked whether it arrived: Loa holds it for "
                                    "`loa resolve` instead of sending it again"),
    "telegram.bad-token": ("Telegram không chấp nhận mã của bot", "Telegram does not accept the bot token"),
    "telegram.bad-token.fix": ("lấy mã từ @BotFather và đặt vào {env}", "get the token from @BotFather and put it in {env}"),
    "telegram.cannot-post": ("bot không đăng được vào {chat}", "the bot cannot post to {chat}"),
    "telegram.cannot-post.fix": ("kiểm tra chat_id, và thêm bot vào kênh làm quản trị viên được đăng, sửa và xóa tin; "
                                 "Loa giữ kênh này lại đến khi đó",
                                 "check chat_id, and add the bot to the channel as an administrator allowed to post, "
                                 "edit and delete messages; Loa holds this channel until then"),
    "telegram.bad-html": ("Telegram từ chối HTML của tin", "Telegram refused the message's HTML"),
    "telegram.bad-html.fix": ("văn bản đã soạn có thẻ Telegram không nhận: xem phần riêng cho telegram của bài hoặc báo lỗi soạn bài",
                              "the rendered text has markup Telegram does not accept: check the post's telegram "
                              "override or report a rendering bug"),
    "telegram.too-long": ("tin quá dài đối với Telegram", "the message is too long for Telegram"),
    "telegram.too-long.fix": ("rút gọn nội dung hoặc thêm phần riêng social.telegram", "shorten the text or add a social.telegram override"),
    "telegram.not-editable": ("tin trên Telegram không còn sửa được", "the Telegram message can no longer be edited"),
    "telegram.not-editable.fix": ("tin đã bị xóa hoặc quá cũ; sửa bằng tay hoặc gỡ rồi đăng lại",
                                  "it was deleted or is too old; edit it by hand or retract and publish again"),
    "telegram.not-deletable": ("Telegram không cho bot xóa tin này (đã quá 48 giờ?)",
                               "Telegram does not let the bot delete this message (older than 48 hours?)"),
    "telegram.not-deletable.fix": ("xóa tin bằng tay trong kênh Telegram", "delete it by hand in the Telegram channel"),
    "telegram.unknown-address": ("Telegram không biết địa chỉ này", "Telegram does not know this address"),
    "telegram.unknown-address.fix": ("kiểm tra api_base của kênh này", "check api_base for this channel"),
    "telegram.refused": ("Telegram từ chối tin", "Telegram refused the message"),
    # Mastodon (publishers/mastodon.py)
    "mastodon.rate-limit": ("hạn mức yêu cầu Mastodon sắp hết; chờ {seconds} giây để được đặt lại",
                            "Mastodon's rate limit is nearly used up; waiting {seconds} s for it to reset"),
    "mastodon.throttling": ("Mastodon đang hạn chế tài khoản này (quá nhiều yêu cầu)", "Mastodon is throttling this account (Too many requests)"),
    "mastodon.processing": ("Mastodon vẫn đang xử lý ảnh", "Mastodon is still processing the image"),
    "mastodon.token-refused": ("Mastodon từ chối mã truy cập: {message}", "Mastodon refused the access token: {message}"),
    "mastodon.token-refused.fix": ("tạo mã truy cập mới có phạm vi quyền write:statuses write:media, đặt vào {env} rồi chạy "
                                   "`loa channels check`",
                                   "create a new access token with scopes write:statuses write:media, "
                                   "put it in {env} and run `loa channels check`"),
    "mastodon.refused": ("Mastodon từ chối: {message}", "Mastodon refused it: {message}"),
    "mastodon.http": ("Mastodon trả lời HTTP {status}: {message}", "Mastodon answered HTTP {status}: {message}"),
    # a webhook (publishers/webhook.py)
    "webhook.http": ("webhook trả lời HTTP {status}", "the webhook answered HTTP {status}"),
    "webhook.check-token": ("kiểm tra mã truy cập", "check the token"),
    # WordPress (publishers/wordpress_rest.py); {what} is what Loa asked (wordpress.do.*)
    "wordpress.refused-user": ("WordPress không cho {user} {what}: {message} [{error}]",
                               "WordPress refused to let {user} {what}: {message} [{error}]"),
    "wordpress.refused-user.401": ("WordPress không cho {user} {what}: {message} [{error}] (WordPress coi Loa là chưa đăng nhập)",
                                   "WordPress refused to let {user} {what}: {message} [{error}] (it treated Loa as not logged in)"),
    "wordpress.refused": ("WordPress từ chối {what}: {message} [{error}]", "WordPress refused to {what}: {message} [{error}]"),
    "wordpress.failed": ("WordPress không {what} được: {message} [{error}]", "WordPress failed to {what}: {message} [{error}]"),
    "wordpress.failed.fix": ("Loa tự thử lại; nếu vẫn kéo dài, hãy xem nhật ký lỗi PHP của trang",
                             "Loa retries by itself; if it lasts, look at the site's PHP error log"),
    "wordpress.no-route": ("WordPress không có đường REST để {what}: {message}", "WordPress has no REST route to {what}: {message}"),
    "wordpress.no-route.fix": ("kiểm tra channels.{name}.url và rest_form", "check channels.{name}.url and rest_form"),
    "wordpress.firewall": ("tường lửa đứng trước WordPress ({waf})", "a firewall in front of WordPress ({waf})"),
    "wordpress.web-server": ("máy chủ web hoặc proxy đứng trước WordPress", "the web server or a proxy in front of WordPress"),
    "wordpress.not-wordpress": ("{who} không cho Loa {what} (HTTP {status} {why}, không phải câu trả lời của WordPress: "
                                "chính WordPress chưa xét mật khẩu ứng dụng của Loa)",
                                "{who} refused to let Loa {what} (HTTP {status} {why}, not an answer of WordPress: "
                                "WordPress itself has not judged Loa's application password)"),
    "wordpress.not-wordpress.fix": ("đề nghị người quản trị trang cho REST API (/wp-json/ hoặc ?rest_route=) đi qua với địa chỉ "
                                    "Loa đăng từ đó, kèm tiêu đề Authorization; trang nó trả lời nằm trong lời của nhà cung cấp",
                                    "ask whoever runs the site to let the REST API (/wp-json/ or ?rest_route=) through for the "
                                    "address Loa publishes from, with its Authorization header; the page it answered is in "
                                    "the vendor message"),
    "wordpress.no-app-passwords": ("WordPress tại {base} không nhận mật khẩu ứng dụng ({why}); nó sẽ lặng lẽ bỏ qua thông tin "
                                   "đăng nhập của Loa và mọi thao tác ghi sẽ thất bại với 401 'chưa đăng nhập'",
                                   "WordPress at {base} does not accept application passwords ({why}); "
                                   "it would ignore Loa's credentials silently and every write would fail with 401 'not logged in'"),
    "wordpress.no-app-passwords.fix": ("dùng địa chỉ https:// của cổng thông tin trong channels.{name}.url (hoặc, với một bản "
                                       "chạy thử trên máy, đặt WP_ENVIRONMENT_TYPE là 'local' trong wp-config.php)",
                                       "use the https:// address of the portal in channels.{name}.url (or, for a local copy, "
                                       "define WP_ENVIRONMENT_TYPE as 'local' in its wp-config.php)"),
    "wordpress.why.plain-http": ("qua http thường WordPress 6.1 chỉ nhận khi môi trường của nó là 'local'",
                                 "over plain http WordPress 6.1 accepts them only when its environment type is 'local'"),
    "wordpress.why.home-http": ("địa chỉ của chính nó là {home}: WordPress tưởng mình được truy cập qua http thường, như khi "
                                "đứng sau một proxy giải mã TLS mà không báo cho nó (đặt $_SERVER['HTTPS'] = 'on' trong "
                                "wp-config.php khi X-Forwarded-Proto của proxy là https)",
                                "its own address is {home}: WordPress believes it is reached over plain http, as behind a "
                                "proxy that terminates TLS without telling it (set $_SERVER['HTTPS'] = 'on' in wp-config.php "
                                "when the proxy's X-Forwarded-Proto is https)"),
    "wordpress.why.turned-off": ("một plugin hoặc bộ lọc wp_is_application_passwords_available đã tắt chúng, hoặc WordPress "
                                 "đứng sau một proxy giải mã TLS mà không báo cho nó yêu cầu là https (khi đó đặt "
                                 "$_SERVER['HTTPS'] = 'on' trong wp-config.php khi X-Forwarded-Proto là https)",
                                 "a plugin or the wp_is_application_passwords_available filter turned them off, or WordPress "
                                 "sits behind a proxy that terminates TLS and does not tell it the request was https (then "
                                 "set $_SERVER['HTTPS'] = 'on' in wp-config.php when X-Forwarded-Proto is https)"),
    "wordpress.whose.other": ("Loa đã đăng bài đó cho một bài khác, {owner}", "Loa published it for another post, {owner}"),
    "wordpress.whose.none": ("bài đó không do Loa đăng", "Loa did not publish it"),
    "wordpress.slug-taken": ("slug {slug} trên WordPress đã thuộc về bài {id} ({state}, {link}); {whose}, nên Loa để nguyên "
                             "bài đó và không đăng {post}",
                             "the slug {slug} is already taken on WordPress by post {id} ({state}, {link}); {whose}, "
                             "so Loa leaves it untouched and does not publish {post}"),
    "wordpress.slug-taken.fix": ("đặt cho bài này một `slug:` khác trong front matter, hoặc đổi tên hay xóa bài kia trên "
                                 "WordPress (xóa cả khỏi thùng rác), rồi chạy `loa retry`",
                                 "give this post another `slug:` in its front matter, or rename or delete that article on "
                                 "WordPress (emptying it from the trash too), then run `loa retry`"),
    "wordpress.no-marker": ("WordPress tại {base} không giữ dấu của Loa ({marker}) trên bài ({seen}): thiếu dấu này Loa "
                            "không phân biệt được bài của mình với bài của cán bộ, nên không đăng gì",
                            "WordPress at {base} does not keep Loa's mark ({marker}) on articles "
                            "({seen}): without it Loa cannot tell its own articles from the staff's, so it publishes nothing"),
    "wordpress.no-marker.fix": ("cài {plugin} làm plugin bắt buộc (chép vào wp-content/mu-plugins/ trên trang), "
                                "rồi chạy `loa channels check`",
                                "install {plugin} as a must-use plugin (copy it to wp-content/mu-plugins/ on the site), "
                                "then run `loa channels check`"),
    "wordpress.proxy-answered": ("proxy đứng trước WordPress trả lời {status} {why} thay cho WordPress khi {what}",
                                 "the proxy in front of WordPress answered {status} {why} instead of WordPress when trying to {what}"),
    "wordpress.proxy-answered.fix": ("Loa tự thử lại và tìm bài theo slug trước, nên không bài nào bị đăng hai lần; nếu vẫn kéo "
                                     "dài, hãy kiểm tra WordPress (PHP) có chạy sau proxy không",
                                     "Loa retries by itself and looks the article up by its slug first, so nothing is "
                                     "published twice; if it lasts, check that WordPress (PHP) runs behind the proxy"),
    "wordpress.server-answered": ("máy chủ của WordPress trả lời HTTP {status} {why} mà không kèm lỗi của WordPress khi {what}",
                                  "WordPress's server answered HTTP {status} {why} without a WordPress error when trying to {what}"),
    "wordpress.no-rest": ("không tìm thấy WordPress REST API tại {base} (đã thử {tried})", "no WordPress REST API found at {base} (tried {tried})"),
    "wordpress.no-rest.fix": ("kiểm tra channels.{name}.url; với rest_form = \"auto\" Loa thử /wp-json/ rồi /?rest_route=/",
                              "check channels.{name}.url; with rest_form = \"auto\" Loa tries /wp-json/ then /?rest_route=/"),
    "wordpress.closed-plain-http": ("WordPress tại {base} đóng REST API với yêu cầu ẩn danh ({message} [{error}]) và chạy http "
                                    "thường: Loa không gửi mật khẩu ứng dụng khi không mã hóa",
                                    "WordPress at {base} closes its REST API to anonymous requests ({message} [{error}]) and "
                                    "is plain http: Loa does not send the application password unencrypted"),
    "wordpress.use-https": ("dùng địa chỉ https:// của cổng thông tin trong channels.{name}.url",
                            "use the https:// address of the portal in channels.{name}.url"),
    "wordpress.role-hint": ("kiểm tra channels.{name}.username, mật khẩu ứng dụng trong ${env} (WordPress: Users -> Profile -> "
                            "Application Passwords) và vai trò của người dùng: Editor làm được mọi việc Loa cần; Author không tạo "
                            "được chuyên mục; Contributor không đăng được bài",
                            "check channels.{name}.username, the application password in ${env} (WordPress: Users -> Profile -> "
                            "Application Passwords) and the user's role: Editor can do everything Loa needs; Author cannot create "
                            "categories; Contributor cannot publish"),
    "wordpress.silent-401": ("WordPress cũng trả lời 'chưa đăng nhập' khi nó lặng lẽ bỏ qua thông tin đăng nhập: khi mật khẩu "
                             "ứng dụng sai, khi trên trang chưa từng tạo mật khẩu ứng dụng, hoặc qua http thường tới một trang "
                             "có môi trường không phải 'local'. Kiểm tra channels.{name}.username, mật khẩu ứng dụng trong ${env} (WordPress: Users -> "
                             "Profile -> Application Passwords) và vai trò của người dùng: Editor làm được mọi việc Loa cần; "
                             "Author không tạo được chuyên mục; Contributor không đăng được bài",
                             "WordPress answers 'not logged in' also when it ignored the credentials without saying so: when the "
                             "application password is wrong, when none was ever created on the site, or over plain http to a site "
                             "whose environment is not 'local'. Check channels.{name}.username, the application password in ${env} (WordPress: "
                             "Users -> Profile -> Application Passwords) and the user's role: Editor can do everything Loa needs; "
                             "Author cannot create categories; Contributor cannot publish"),
    "wordpress.closed-rest": ("một plugin đóng REST API với các yêu cầu WordPress không coi là đã đăng nhập; Loa đăng nhập "
                              "bằng mật khẩu ứng dụng, vậy là WordPress không chấp nhận mật khẩu đó: {hint}",
                              "a plugin closes the REST API to requests WordPress does not count as logged in; Loa signs "
                              "in with an application password, so WordPress did not accept it: {hint}"),
    "wordpress.do.read its own profile": ("đọc hồ sơ của chính mình", "read its own profile"),
    "wordpress.do.read the REST index": ("đọc mục lục REST", "read the REST index"),
    "wordpress.do.read the REST index (it is closed to anonymous requests)": (
        "đọc mục lục REST (mục lục này đóng với yêu cầu ẩn danh)", "read the REST index (it is closed to anonymous requests)"),
    "wordpress.do.answer the REST index": ("trả lời mục lục REST", "answer the REST index"),
    "wordpress.do.create the article": ("tạo bài", "create the article"),
    "wordpress.do.update the article": ("cập nhật bài", "update the article"),
    "wordpress.do.retract the article": ("gỡ bài", "retract the article"),
    "wordpress.do.upload the image": ("tải ảnh lên", "upload the image"),
    "wordpress.do.look the image up": ("tìm ảnh", "look the image up"),
    "wordpress.do.look the article up": ("tìm bài", "look the article up"),
    "wordpress.do.look the article up by its slug": ("tìm bài theo slug", "look the article up by its slug"),
    "wordpress.do.look articles up": ("tìm các bài", "look articles up"),
    "wordpress.do.look articles up by their slugs": ("tìm các bài theo slug", "look articles up by their slugs"),
    "wordpress.do.describe its articles": ("đọc mô tả kiểu bài", "describe its articles"),
    "wordpress.do.find a category": ("tìm chuyên mục", "find a category"),
    "wordpress.do.set the article's category and tags": ("đặt chuyên mục và thẻ của bài", "set the article's category and tags"),
    "wordpress.do.set the image's alt text": ("đặt văn bản thay thế của ảnh", "set the image's alt text"),
}
