"""What a publisher says that is not a vendor's refusal (issue 17), part of the one catalogue
(:mod:`pipeline.messages` merges it in): an image it cannot read, a post it cannot send as it is
(a caption without its image, a Zalo article without a cover, a page name the portal refuses), a
vendor's answer it cannot use, a quota or an earlier attempt it must wait for. ``loa publish``,
``loa status`` and ``loa channels check`` show them in the reader's language; each English text is
the one these errors always had, so logs, ``str()`` and the ledger's English read the same.

An operating system's words (``{why}``: "No such file or directory") and a vendor's (``{message}``)
are quoted as said. Codes start with the publisher's channel type, or ``publish.`` when several
publishers say the same thing.
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # several publishers (publishers/base.py, facebook.py, telegram.py, mastodon.py, wordpress.py)
    "publish.no-edits": ("kênh này không cho sửa bài đã đăng", "this channel does not allow edits"),
    "publish.no-removal": ("kênh này không cho gỡ bài đã đăng", "this channel does not allow removal"),
    "publish.over-limit": ("nội dung dài {length} ký tự, vượt giới hạn {limit}", "text is {length} characters, over the limit of {limit}"),
    "publish.over-limit.fix": ("rút gọn nội dung hoặc viết `social.<kênh>` riêng; loa check báo điều này trước giờ đăng",
                               "shorten the text or add a social.<channel> override; loa check shows this before the post is due"),
    "publish.caption-no-image": ("bài đăng dạng ảnh kèm chú thích nhưng không có ảnh", "a caption post has no image"),
    "publish.rendering-bug": ("đây là lỗi của Loa khi tạo nội dung cho kênh: hãy báo cho bộ phận kỹ thuật",
                              "this is a rendering bug: report it"),
    "publish.image-unreadable": ("không đọc được ảnh {name}", "cannot read the image {name}"),
    "publish.image-unreadable-why": ("không đọc được ảnh {name}: {why}", "cannot read the image {name}: {why}"),
    "publish.image-committed": ("kiểm tra tệp ảnh đã được đưa lên kho nội dung (commit) chưa",
                                "check that the image file is committed"),
    "publish.kind.text": ("chữ", "text"),
    "publish.kind.caption": ("ảnh kèm chú thích", "caption"),
    # an address or a credential a request cannot carry (publishers/http.py)
    "http.bad-request": ("không tạo được yêu cầu từ cấu hình của kênh", "the request could not be built from the channel's settings"),
    "http.bad-request.fix": ("kiểm tra địa chỉ của kênh, và xem biến môi trường chứa mã truy cập có lẫn dấu xuống dòng hay ký "
                             "tự điều khiển nào không",
                             "check the channel's address and that no credential variable holds a line break or other "
                             "control character"),
    # Facebook and Telegram: a post that gained or lost its photo
    "facebook.kind-changed": ("bài đã đăng dạng {was}, nay là dạng {now}", "the post was published as {was} and is now {now}"),
    "facebook.kind-changed.fix": ("Facebook không cho thêm hay bỏ ảnh của bài đã đăng: hãy gỡ bài rồi đăng lại",
                                  "Facebook cannot add or remove a photo on a published post: retract it and publish again"),
    "telegram.kind-changed": ("tin đã gửi dạng {was}, nay là dạng {now}", "the message was sent as {was} and is now {now}"),
    "telegram.kind-changed.fix": ("tin Telegram không thêm hay bỏ được ảnh: hãy gỡ tin rồi đăng lại",
                                  "a Telegram message cannot gain or lose its photo: retract it and publish again"),
    # Mastodon (publishers/mastodon.py)
    "mastodon.no-media-id": ("Mastodon đã nhận ảnh nhưng không trả về mã ảnh", "Mastodon accepted the image but gave no media id"),
    "mastodon.forgotten-key": ("lần gửi lúc {at} không nhận được trả lời, và Mastodon đã quên khóa chống gửi trùng "
                               "(Idempotency-Key) của lần đó; Loa không biết tút đó đã được đăng hay chưa",
                               "an earlier attempt at {at} got no answer and Mastodon has forgotten its Idempotency-Key "
                               "since; Loa cannot tell whether that status was posted"),
    "mastodon.forgotten-key.fix": ("xem trên tài khoản: nếu tút đã có thì ghi nhận là đã đăng; nếu chưa có, chạy `loa retry`",
                                   "look at the account: if the status is there, record it as published; if not, run `loa retry`"),
    # Zalo (publishers/zalo.py)
    "zalo.needs-cover": ("bài viết Zalo cần ảnh bìa nhưng bài này chưa có ảnh",
                         "a Zalo article needs a cover image and this post has none"),
    "zalo.needs-cover.fix": ("thêm ảnh cho bài, hoặc bỏ zalo khỏi danh sách kênh của bài",
                             "add an image to the post, or remove zalo from its channels"),
    "zalo.part.title": ("tiêu đề", "title"),
    "zalo.part.author": ("tên tác giả", "author"),
    "zalo.too-long": ("{part} dài {length} ký tự; Zalo chỉ nhận tối đa {limit}", "the {part} is {length} characters; Zalo accepts at most {limit}"),
    "zalo.too-long.fix": ("rút gọn {part} hoặc viết `social.{channel}` riêng", "shorten the {part} or add a social.{channel} override"),
    "zalo.needs-description": ("bài viết Zalo cần phần mô tả nhưng tóm tắt của bài đang trống",
                               "a Zalo article needs a description and this post's summary is empty"),
    "zalo.needs-description.fix": ("viết tóm tắt cho bài", "write a summary"),
    "zalo.needs-body": ("bài viết Zalo cần nội dung nhưng bài này chưa có nội dung",
                        "a Zalo article needs a body and this post's text is empty"),
    "zalo.needs-body.fix": ("viết nội dung cho bài", "write the post's text"),
    "zalo.cover-unreadable": ("không đọc được ảnh bìa {path}: {why}", "cannot read the cover image {path}: {why}"),
    "zalo.cover-too-big": ("ảnh bìa nặng {size} byte; Zalo chỉ nhận tối đa {limit} byte",
                           "the cover image is {size} bytes; Zalo accepts at most {limit}"),
    "zalo.cover-too-big.fix": ("lưu ảnh của bài thành tệp JPEG hoặc PNG nhỏ hơn (dưới 1 MB)",
                               "save a smaller JPEG or PNG (under 1 MB) as the post's image"),
    "zalo.cover-type": ("ảnh bìa không phải JPEG hay PNG; bài viết Zalo chỉ nhận hai loại ảnh này",
                        "the cover image is not a JPEG or PNG; Zalo articles take only those"),
    "zalo.cover-type.fix": ("lưu ảnh của bài dưới dạng JPEG hoặc PNG", "save the post's image as JPEG or PNG"),
    "zalo.cover-no-url": ("ảnh bìa phải có địa chỉ công khai trên mạng, nhưng cả media_base_url lẫn liên kết của bài trên "
                          "cổng thông tin đều không cho ra địa chỉ đó",
                          "the cover must be a public URL and neither media_base_url nor the post's portal link gives one"),
    "zalo.cover-no-url.fix": ("đặt channels.{channel}.media_base_url", "set channels.{channel}.media_base_url"),
    "zalo.cover-unfetched": ("Zalo không tải được ảnh bìa ({message}); ảnh phải công khai trên cổng thông tin. Loa sẽ tự thử lại sau",
                             "Zalo could not fetch the cover image ({message}); it must be public on the portal. Loa tries again later"),
    "zalo.no-id": ("Zalo đã xác nhận bài viết nhưng không trả về mã bài", "Zalo verified the article but gave no id"),
    "zalo.still-processing": ("sau {attempts} lần kiểm tra, Zalo vẫn đang xử lý bài viết; Loa giữ yêu cầu này và sẽ kiểm tra "
                              "lại chứ không tạo bài thứ hai",
                              "Zalo was still processing the article after {attempts} checks; the job is kept and Loa will "
                              "check it again instead of creating a second article"),
    "zalo.no-token": ("Zalo đã nhận bài viết nhưng không trả về mã yêu cầu (token)", "Zalo accepted the article but gave no job token"),
    "zalo.answer-lost": ("câu trả lời của lần tạo bài trước bị mất và Zalo chưa liệt kê bài đó; Loa chờ rồi mới tạo lại",
                         "an earlier create's answer was lost and Zalo does not list the article yet; waiting before "
                         "creating it again"),
    "zalo.quota-month": ("đã gửi {count}/{limit} lượt trong tháng này", "{count} of {limit} this month"),
    "zalo.quota-day": ("đã gửi {count}/{limit} lượt hôm nay", "{count} of {limit} today"),
    "zalo.quota-spent": ("đã hết lượt gửi thông báo tới người quan tâm của Zalo ({why}); bài viết và thông báo của nó chờ "
                         "đến {until_vi}",
                         "Zalo's broadcast quota is spent ({why}); the article and its notice wait until {until_en}"),
    "zalo.quota-refused": ("Zalo từ chối gửi thông báo vì đã hết lượt: {message}; Loa gửi lại sau {until_vi}",
                           "Zalo refused the broadcast for its quota: {message}; Loa sends it after {until_en}"),
    # WordPress (publishers/wordpress.py, wordpress_rest.py); what Loa asked, built with a name (wordpress.do.*)
    "wordpress.no-slug": ("nội dung tạo ra không có slug; Loa tìm lại bài trên WordPress theo slug nên không đăng bài thiếu slug",
                          "the rendering has no slug; WordPress articles are found again by their slug, so Loa does not "
                          "publish without one"),
    "wordpress.no-folder": ("nội dung bài có ảnh ghi đường dẫn tương đối nhưng Loa không tìm thấy thư mục của bài để đọc ảnh",
                            "the body has an image with a relative address, but Loa could not find the post's folder to "
                            "read it from"),
    "wordpress.image-outside": ("ảnh {src} trong nội dung bài nằm ngoài thư mục content nên Loa không tải lên",
                                "the body's image {src} is outside the content folder; Loa does not upload it"),
    "wordpress.image-type": ("ảnh {src} trong nội dung bài không thuộc loại ảnh WordPress nhận",
                             "the body's image {src} is not an image WordPress accepts"),
    "wordpress.image-type.fix": ("dùng tệp .jpg, .png hoặc .webp", "use a .jpg, .png or .webp file"),
    "wordpress.body-image-unreadable": ("không đọc được ảnh {name} trong nội dung bài: {why}", "cannot read the body's image {name}: {why}"),
    "wordpress.image-no-address": ("WordPress không trả về địa chỉ của ảnh {name} (mã ảnh {id})",
                                   "WordPress gave no address for the image {name} (media {id})"),
    "wordpress.not-image": ("{name} không thuộc loại ảnh WordPress nhận", "{name} is not an image WordPress accepts"),
    "wordpress.not-json": ("WordPress trả lời HTTP {status} cho yêu cầu {what} bằng nội dung không phải JSON",
                           "WordPress answered HTTP {status} to {what} with something that is not JSON"),
    "wordpress.not-json.fix": ("kiểm tra channels.{channel}.url và rest_form: có phải một trang web hay proxy đang trả lời thay "
                               "cho WordPress không?",
                               "check channels.{channel}.url and rest_form: is a page or a proxy answering in WordPress's place?"),
    "wordpress.noun.category": ("chuyên mục", "category"),
    "wordpress.noun.tag": ("thẻ", "tag"),
    "wordpress.do.look-up-the-term": ("tìm {noun} {slug}", "look up the {noun} {slug}"),
    "wordpress.do.look-up-a-term": ("tìm {noun}", "look up a {noun}"),
    "wordpress.do.create-the-term": ("tạo {noun} {name}", "create the {noun} {name}"),
    "wordpress.do.create-a-term": ("tạo {noun}", "create a {noun}"),
    "wordpress.do.upload-the-image": ("tải ảnh {name} lên", "upload the image {name}"),
    "wordpress.do.use-category": ("dùng chuyên mục {target} (channels.{channel}.category_map.{type})",
                                  "use category {target} (channels.{channel}.category_map.{type})"),
    # the ward loudspeaker (publishers/loudspeaker.py) and its speech engines (publishers/speech/)
    "loudspeaker.not-an-item": ("không phải một tin phát thanh (thiếu đài hoặc giờ phát)", "not a broadcast item (no station or slot)"),
    "loudspeaker.station-gone": ("đài {station} không còn trong cấu hình", "station {station} is no longer configured"),
    "loudspeaker.formula-broken.fix": ("sửa templates/{template} (channels.{channel}.{key})",
                                       "fix templates/{template} (channels.{channel}.{key})"),
    "loudspeaker.push-http": ("hệ thống phát (push) trả lời HTTP {status}", "the push system answered HTTP {status}"),
    "loudspeaker.push-token": ("kiểm tra push_token_env", "check push_token_env"),
    "speech.espeak-timeout": ("espeak-ng chạy quá 10 phút", "espeak-ng took more than 10 minutes"),
    "speech.espeak-failed": ("espeak-ng báo lỗi: {detail}", "espeak-ng failed: {detail}"),
    "speech.fpt-http": ("FPT.AI trả lời HTTP {status}", "FPT.AI answered HTTP {status}"),
    "speech.fpt-not-json": ("FPT.AI trả lời bằng nội dung không phải JSON", "FPT.AI answered something that is not JSON"),
    "speech.fpt-refused": ("FPT.AI từ chối đoạn văn bản (lỗi {error})", "FPT.AI refused the text (error {error})"),
    "speech.fpt-not-ready": ("tệp âm thanh của FPT.AI chưa có kịp lúc (HTTP {status})",
                             "the FPT.AI audio was not ready in time (HTTP {status})"),
    # the static portal (publishers/static_site.py)
    "site.outside": ("{rel} dẫn ra ngoài thư mục của trang {out}", "{rel} leads outside the site folder {out}"),
    "site.outside.fix": ("xóa liên kết (hoặc tệp) {path} đang trỏ ra chỗ khác, rồi chạy loa retry --channel {channel}",
                         "remove the link (or the file) {path} that points elsewhere, then loa retry --channel {channel}"),
    "site.manifest-unusable": ("không dùng được tệp kê khai của trang {path} ({problem}); nếu vẫn đăng, mọi trang mục lục sẽ bị "
                               "ghi lại chỉ với bài mới và các trang đã gỡ vẫn còn trên mạng",
                               "the site's manifest {path} cannot be used ({problem}); publishing would rewrite every index "
                               "with the new article alone and leave retracted pages online"),
    "site.manifest-unusable.fix": ("khôi phục {manifest} và {journal} từ bản sao lưu, hoặc xóa {manifest} (cùng {journal}) để "
                                   "làm lại các trang mục lục từ đầu (các trang đã ghi vẫn còn trên mạng nhưng không có trong "
                                   "mục lục), rồi chạy loa retry --channel {channel}",
                                   "restore {manifest} and {journal} from a backup, or delete it to start the indexes afresh "
                                   "(with {journal}; pages already written stay online but unlisted), then loa retry "
                                   "--channel {channel}"),
    # why the manifest or its journal cannot be used (publishers/site_store.py), quoted in site.manifest-unusable
    "site.store.no-articles": ("không có bảng \"articles\"", "no \"articles\" table"),
    "site.store.redirects-not-table": ("\"redirects\" không phải một bảng", "\"redirects\" is not a table"),
    "site.store.line-not-json": ("dòng {n} của {journal} không phải JSON", "line {n} of {journal} is not JSON"),
    "site.store.line": ("dòng {n} của {journal}: {problem}", "line {n} of {journal}: {problem}"),
    "site.store.not-object": ("không phải một đối tượng JSON", "not an object"),
    "site.store.no-operation": ("không có put, del hay indexed", "neither put, del nor indexed"),
    "site.store.no-path": ("bài {pid} không có đường dẫn trang dạng loại/slug.html",
                           "article {pid} has no page path of the form type/slug.html"),
    "site.store.reserved-or-untitled": ("bài {pid} nằm trong một thư mục dành riêng hoặc không có tiêu đề",
                                        "article {pid} has a reserved folder or no title"),
    "site.store.not-plain-name": ("bài {pid} có loại bài, đơn vị hay chủ đề không phải tên đơn giản",
                                  "article {pid} has a type, unit or topic that is not a plain name"),
    "site.store.bad-image": ("bài {pid} có ảnh không nằm ở media/<tên>.<đuôi>", "article {pid} has an image that is not media/<name>.<ext>"),
    "site.store.bad-redirect": ("địa chỉ chuyển hướng {path} không phải đường dẫn trang dạng loại/slug.html",
                                "redirect {path} is not a page path of the form type/slug.html"),
    "site.bad-name": ("{field} {value} không dùng làm tên trang được: chỉ dùng a-z, 0-9 và -",
                      "{field} {value} cannot name a page of the site: only a-z, 0-9 and - are allowed"),
    "site.bad-name.fix": ("sửa {field} (trong phần đầu bài hoặc config.toml); loa check cho biết cách viết đúng",
                          "correct the {field} (front matter or config.toml); loa check shows the expected form"),
    "site.reserved-type": ("loại bài {kind} trùng tên một thư mục của trang ({reserved}): các trang của nó sẽ ghi đè trang mục lục",
                           "type {kind} is the name of a folder of the site ({reserved}): its pages would overwrite the indexes"),
    "site.reserved-type.fix": ("đổi tên loại bài trong config.toml", "rename the type in config.toml"),
    "site.image-name": ("không chép được ảnh {name} vào trang: thiếu mã băm nội dung hoặc phần mở rộng tệp bất thường",
                        "image {name} cannot be copied into the site: no content hash or an unusual extension"),
}
