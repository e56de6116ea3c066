"""The one catalogue of user-facing messages, in Vietnamese and English.

``text(code, lang, **args)`` formats a message. Codes are stable (they appear in ``loa check``
output in brackets, and tests assert them); wording may improve. Modules that own a family of
checks (Vietnamese text quality, activities) contribute their ``MESSAGES`` here.
"""

from __future__ import annotations

import string

from pipeline import messages_cli as _cli
from pipeline import messages_publishers as _publishers
from pipeline import messages_vendor as _vendor

CATALOGUE: dict[str, tuple[str, str]] = {
    # files
    "file.symlink-outside": ("liên kết tượng trưng trỏ ra ngoài thư mục content ({target}); hãy chép tệp vào content/ thay vì tạo liên kết",
                             "symbolic link points outside the content folder ({target}); copy the file into content/ instead"),
    "file.unreadable": ("không đọc được tệp: {reason}", "cannot read the file: {reason}"),
    "file.too-big": ("tệp quá lớn ({size_kb} KB, tối đa {max_kb} KB); hãy chia nhỏ bài hoặc đưa tài liệu đính kèm lên nơi khác",
                     "file too big ({size_kb} KB, at most {max_kb} KB); split the post or put attachments elsewhere"),
    "file.binary": ("đây không phải tệp văn bản (có byte nhị phân); bài viết phải là tệp Markdown .md",
                    "not a text file (binary bytes); a post must be a Markdown .md file"),
    "file.not-utf8": ("tệp không phải UTF-8 (có vẻ là {encoding}); chạy `loa check --fix` để chuyển sang UTF-8, hoặc lưu lại tệp với bảng mã UTF-8",
                      "file is not UTF-8 (looks like {encoding}); run `loa check --fix` to convert it, or save it as UTF-8"),
    "file.mixed-utf8": ("tệp là UTF-8 nhưng có {count} byte không hợp lệ ở dòng {lines}{encoding_vi}",
                        "the file is UTF-8 but {count} bytes on line(s) {lines} are not{encoding_en}"),
    "file.read-failed": ("Loa gặp lỗi khi đọc tệp này nên đã bỏ qua nó ({reason}); các tệp khác vẫn được xử lý bình thường. "
                         "Hãy xem lại chỗ vừa sửa trong tệp (ví dụ danh sách lồng nhau quá sâu); nếu vẫn lỗi, gửi tệp này cho bộ phận kỹ thuật",
                         "Loa failed reading this file and skipped it ({reason}); every other file is processed as usual. "
                         "Look again at what was last changed in it (e.g. lists nested too deeply); if it still fails, send the file to the technical team"),
    # YAML of front matter and activity files, refused before it is expanded
    "yaml.anchor": ("không được dùng neo hay bí danh YAML (`{token}`); hãy xóa `&tên`/`*tên` và viết đầy đủ giá trị ở từng chỗ",
                    "YAML anchors and aliases are not allowed (`{token}`); remove the `&name`/`*name` and write the value out in full where it is used"),
    "yaml.too-deep": ("dữ liệu YAML lồng nhau quá sâu (quá {limit} cấp); hãy viết phẳng lại, mỗi dòng một `khóa: giá trị`",
                      "YAML nested too deeply (more than {limit} levels); write it flat, one `key: value` per line"),
    # PATH arguments of check and preview
    "path.missing": ("`{path}`: không có tệp hay thư mục này", "`{path}`: no such file or folder"),
    "path.outside-content": ("`{path}` không nằm trong thư mục nội dung `{content}` của cấu hình này; chỉ kiểm tra và xem "
                             "trước được bài trong thư mục đó (dùng `--config` để chọn kho nội dung khác)",
                             "`{path}` is not inside this configuration's content folder `{content}`; only posts there can "
                             "be checked and previewed (use `--config` for another content repository)"),
    # front matter
    "front.missing": ("thiếu phần đầu bài (thông tin bài: tiêu đề, đơn vị, giờ đăng...) giữa hai dòng `---` ở đầu tệp; dùng `loa new` để tạo bài mẫu",
                      "missing front matter between two `---` lines at the top; use `loa new` to create a post"),
    "front.yaml": ("lỗi cú pháp YAML: {detail}; kiểm tra dấu hai chấm, thụt lề và dấu ngoặc kép ở dòng này",
                   "YAML syntax error: {detail}; check colons, indentation and quotes on this line"),
    "front.not-mapping": ("phần đầu bài phải là danh sách `khóa: giá trị`", "front matter must be `key: value` lines"),
    "front.unknown-key": ("khóa lạ `{key}`{hint_vi}", "unknown key `{key}`{hint_en}"),
    "front.missing-key": ("thiếu khóa bắt buộc `{key}`", "missing required key `{key}`"),
    "front.type": ("giá trị của `{key}` sai kiểu: cần {expected}", "`{key}` has the wrong type: expected {expected}"),
    "front.bad-time": ("không đọc được thời gian `{key}: {value}`; viết dạng \"2024-03-25 08:00\" (giờ Việt Nam) hoặc \"2024-03-25T08:00:00+07:00\"",
                       "cannot read time `{key}: {value}`; write \"2024-03-25 08:00\" (site zone) or \"2024-03-25T08:00:00+07:00\""),
    "front.bad-priority": ("mức ưu tiên `{value}` không hợp lệ; chỉ dùng `normal` (thường), `priority` (ưu tiên: đầu chương trình phát kế tiếp) hoặc `emergency` (khẩn cấp: phát ngay trên loa)",
                           "priority `{value}` is not valid; use `normal`, `priority` (first in the next programme) or `emergency` (played on the loudspeakers at once)"),
    "front.bad-status": ("trạng thái `{value}` không hợp lệ; chỉ dùng `draft` (bản nháp) hoặc `ready` (sẵn sàng đăng)",
                         "invalid status `{value}`; use `draft` or `ready`"),
    "front.bad-slug": ("địa chỉ bài viết (khóa `slug`) `{value}` có ký tự không hợp lệ; dùng `{suggestion}`", "slug `{value}` has invalid characters; use `{suggestion}`"),
    # images
    "image.remote": ("ảnh phải là tệp trong content/, không phải địa chỉ web ({value})", "the image must be a file in content/, not a web address ({value})"),
    "image.outside": ("đường dẫn ảnh `{value}` ra ngoài thư mục content; đặt ảnh cạnh bài viết, ví dụ `images/anh.png`",
                      "image path `{value}` leaves the content folder; put the image beside the post, e.g. `images/photo.png`"),
    "image.missing": ("không tìm thấy ảnh `{value}` (đường dẫn tính từ thư mục chứa bài viết)", "image `{value}` not found (path is relative to the post)"),
    "image.too-big": ("ảnh `{value}` quá lớn ({size_kb} KB, tối đa {max_kb} KB); hãy giảm kích thước ảnh",
                      "image `{value}` too big ({size_kb} KB, at most {max_kb} KB); resize it"),
    "image.not-image": ("tệp `{value}` không phải ảnh PNG, JPEG, GIF hay WebP", "`{value}` is not a PNG, JPEG, GIF or WebP image"),
    "image.svg": ("ảnh `{value}` là SVG, loại ảnh có thể chứa mã chạy được nên không được dùng; hãy xuất ảnh ra PNG hoặc JPEG",
                  "`{value}` is an SVG image, which can carry script and is not accepted; export it as PNG or JPEG"),
    "image.no-alt": ("ảnh chưa có mô tả thay thế `image_alt` (bắt buộc, để người khiếm thị nghe được nội dung ảnh)",
                     "the image has no `image_alt` text (required, so blind readers know what it shows)"),
    # posts
    "post.unknown-type": ("loại bài `{value}` không có trong cấu hình; dùng một trong: {choices}", "unknown type `{value}`; use one of: {choices}"),
    "post.unknown-unit": ("đơn vị `{value}` không có trong cấu hình{hint_vi}", "unknown unit `{value}`{hint_en}"),
    "post.unit-not-in-force": ("đơn vị `{value}` không còn hoạt động vào ngày {day}{successor_vi}",
                               "unit `{value}` is not in force on {day}{successor_en}"),
    "post.unknown-topic": ("chủ đề `{value}` không có trong cấu hình; dùng một trong: {choices}", "unknown topic `{value}`; use one of: {choices}"),
    "post.unknown-channel": ("kênh `{value}` không có trong cấu hình; dùng một trong: {choices}", "unknown channel `{value}`; use one of: {choices}"),
    "post.expire-before-publish": ("thời điểm hết hạn `expire_at` ({expire}) không sau thời điểm đăng `publish_at` ({publish})",
                                   "`expire_at` ({expire}) is not after `publish_at` ({publish})"),
    "post.duplicate-id": ("mã bài `{value}` trùng với {other}; mỗi bài cần một `id` riêng (dùng `loa new` để tạo mã mới)",
                          "id `{value}` is also used by {other}; each post needs its own `id` (`loa new` makes one)"),
    "post.duplicate-slug": ("địa chỉ bài viết `{value}` trùng với {other}; ghi khóa `slug:` khác cho một trong hai bài",
                            "slug `{value}` is also used by {other}; give one of them a different `slug:`"),
    "post.too-deep": ("danh sách hoặc trích dẫn lồng nhau quá sâu ({depth} cấp, tối đa {limit}); hãy bớt thụt lề hoặc tách thành "
                      "các danh sách ngắn hơn. Bài này sẽ không được đăng cho đến khi sửa",
                      "lists or quotes nested too deeply ({depth} levels, at most {limit}); reduce the indentation or split them into "
                      "shorter lists. This post is not published until it is fixed"),
    "post.control-char": ("{field_vi} có ký tự điều khiển vô hình {chars}; hãy xóa ký tự đó (thường do dán từ Word, PDF hay trang web) "
                          "và gõ lại chữ ở vị trí này",
                          "{field_en} contains the invisible control character {chars}; delete it (it usually comes from pasting from Word, "
                          "a PDF or a web page) and retype the text at this position"),
    "post.empty-body": ("bài viết chưa có nội dung", "the post has no body"),
    "post.empty-title": ("bài viết chưa có tiêu đề", "the post has no title"),
    "post.broken-link": ("liên kết tới `{value}` không trỏ tới bài viết hay tệp nào trong content/", "link to `{value}` does not lead to a post or file in content/"),
    "post.deleted": ("bài `{value}` đã đăng trên {channels} nhưng tệp không còn; muốn gỡ bài thì khôi phục tệp và thêm `retracted: \"lý do\"`",
                     "post `{value}` is published on {channels} but its file is gone; to take it down, restore the file and add `retracted: \"reason\"`"),
    # HTML the portal's allow-list removes (pipeline.htmlsafe)
    "html.removed-tag": ("thẻ <{tag}> ở dòng {at} sẽ bị loại bỏ khi đăng (không nằm trong danh sách HTML được phép, xem docs/huong-dan-bien-tap.md)",
                         "tag <{tag}> on line {at} will be removed when published (not in the allowed HTML, see docs/huong-dan-bien-tap.md)"),
    "html.removed-attr": ("thuộc tính `{attr}=\"{value}\"` của thẻ <{tag}> ở dòng {at} sẽ bị loại bỏ khi đăng",
                          "attribute `{attr}=\"{value}\"` of tag <{tag}> on line {at} will be removed when published"),
    "html.removed-comment": ("chú thích HTML <!-- ... --> ở dòng {at} sẽ bị loại bỏ khi đăng",
                             "HTML comment <!-- ... --> on line {at} will be removed when published"),
    # channels
    "channel.over-limit": ("nội dung cho kênh {channel} dài {length} ký tự, vượt giới hạn {limit}; rút gọn tóm tắt hoặc viết `social.{channel}` riêng",
                           "text for {channel} is {length} characters, over the limit of {limit}; shorten the summary or write `social.{channel}`"),
    "channel.needs-image": ("kênh {channel} cần ảnh bìa; thêm `image` và `image_alt`, hoặc bỏ kênh {channel} khỏi `channels`",
                            "{channel} needs a cover image; add `image` and `image_alt`, or remove {channel} from `channels`"),
    # why a post cannot be rendered for a channel (pipeline/render.py): the template engine's, the
    # Markdown library's or Python's own words ({error}) are quoted as said
    "render.failed": ("{post} trên {channel}: {reason}", "{post} on {channel}: {reason}"),
    "render.type-unloadable": ("không nạp được loại kênh {type}: {error}", "channel type {type} cannot be loaded: {error}"),
    "render.markdown": ("lỗi khi chuyển Markdown của bài: {error}", "markdown: {error}"),
    "render.script": ("lỗi khi soạn bài đọc cho loa: {error}", "script: {error}"),
    "render.template-missing": ("không tìm thấy mẫu trình bày {name}", "template not found: {name}"),
    "render.template-error": ("mẫu trình bày bị lỗi: {error}", "template error: {error}"),
    "channel.render": ("không tạo được nội dung cho kênh {channel}: {detail}", "cannot render for {channel}: {detail}"),
    # approval
    "approval.missing": ("bài chưa được Ban biên tập duyệt cho kênh {channels}; bài sẽ chờ đến khi được duyệt (`loa approve {path} --by \"Tên\"`)",
                         "not yet approved by the editorial board for {channels}; it waits until approved (`loa approve {path} --by \"Name\"`)"),
    "approval.void": ("bài đã được {by} duyệt nhưng sau đó đã sửa {changed_vi}; cần duyệt lại",
                      "approved by {by}, but {changed_en} changed since; it needs approval again"),
    "approval.part.title": ("tiêu đề", "the title"),
    "approval.part.summary": ("tóm tắt", "the summary"),
    "approval.part.body": ("nội dung", "the body"),
    "approval.part.image": ("ảnh", "the image"),
    "approval.part.alt": ("mô tả ảnh", "the image's alt text"),
    "approval.part.correction": ("đính chính", "the correction"),
    "approval.part.retraction": ("lý do gỡ bài", "the retraction reason"),
    "approval.part.social": ("nội dung riêng cho kênh", "the per-channel text"),
    "approval.part.channels": ("danh sách kênh", "the channel list"),
    "approval.part.unknown": ("nội dung (lần duyệt trước do phiên bản Loa cũ ghi, không rõ phần nào)",
                              "the content (the approval was recorded by an older Loa, which part is not known)"),
    "approval.refused-not-board": ("{by} không phải thành viên Ban biên tập ({board})", "{by} is not an editorial board member ({board})"),
    "approval.refused-draft": ("bài `{path}` còn là bản nháp (`status: {status}`); chỉ duyệt bài `status: ready`",
                               "`{path}` is a draft (`status: {status}`); only a `status: ready` post can be approved"),
    "approval.refused-errors": ("bài `{path}` còn {count} lỗi ({codes}); chạy `loa check {path}`, sửa xong rồi mới duyệt",
                                "`{path}` has {count} error(s) ({codes}); run `loa check {path}` and fix them before approving"),
    "approval.usage": ("cần đường dẫn bài và `--by \"Tên\"` (hoặc `--list` để xem các bài chờ duyệt)",
                       "give the post's path and `--by \"Name\"` (or `--list` for the posts waiting for approval)"),
    "approval.done": ("Đã ghi nhận {by} duyệt {path} (mã {hash})", "Recorded approval of {path} by {by} (hash {hash})"),
    "approval.queue-new": ("chưa được duyệt", "never approved"),
    "approval.queue-changed": ("{by} đã duyệt, sau đó sửa {changed}", "approved by {by}; since then changed: {changed}"),
    "approval.queue-older": ("{by} đã duyệt, sau đó đã sửa (lần duyệt do phiên bản Loa cũ ghi, không rõ phần nào)",
                             "approved by {by}, changed since (recorded by an older Loa, which part is not known)"),
    "approval.queue-invalid": ("{by} không được duyệt bài này (không thuộc Ban biên tập hoặc là tác giả)",
                               "{by} may not approve this post (not on the board, or the author)"),
    # loa new
    "new.unknown-type": ("loại bài `{value}` không có; dùng một trong: {choices}", "unknown type `{value}`; expected one of: {choices}"),
    "new.unknown-unit": ("đơn vị `{value}` không có; dùng một trong: {choices}", "unknown unit `{value}`; expected one of: {choices}"),
    "new.bad-at": ("--at: không đọc được `{value}`; viết dạng \"2024-03-25 08:00\"", "--at: cannot read `{value}`; write \"2024-03-25 08:00\""),
    "new.empty-slug": ("tiêu đề không tạo được địa chỉ bài viết; hãy viết tiêu đề có chữ", "the title gives an empty slug; write a title with letters"),
    "new.exists": ("đã có tệp {path}; không ghi đè. Hãy đổi tiêu đề hoặc sửa tệp đó.", "{path} already exists; not overwritten. Change the title or edit that file."),
    "new.placeholder": ("Viết nội dung bài ở đây (Markdown).", "Write the post here (Markdown)."),
    # what `loa new` writes under the front matter (pipeline/scaffold.py): headings are published
    # in the site's language, the [Viết ở đây: ...] hints are for the author and a check error when ready
    "scaffold.marker": ("Viết ở đây", "Write here"),
    "scaffold.other": ("nội dung bài (Markdown)", "the post's text (Markdown)"),
    "scaffold.guide.intro": ("một hai câu giới thiệu: thủ tục gì, giúp người dân việc gì, theo văn bản nào",
                             "one or two sentences: which procedure, what it does for citizens, under which regulation"),
    "scaffold.guide.who": ("Đối tượng", "Who may apply"),
    "scaffold.guide.who-hint": ("ai được thực hiện thủ tục này, và điều kiện nếu có",
                                "who may use this procedure, and on what conditions"),
    "scaffold.guide.papers": ("Hồ sơ cần chuẩn bị", "Papers to prepare"),
    "scaffold.guide.papers-hint": ("mỗi giấy tờ một dòng gạch đầu dòng, ghi rõ bản chính hay bản sao, số lượng",
                                   "one paper per bullet line, saying original or copy, and how many"),
    "scaffold.guide.steps": ("Các bước thực hiện", "Steps"),
    "scaffold.guide.step-1": ("bước đầu tiên; mỗi bước một dòng, đánh số 1. 2. 3.",
                              "the first step; one step per line, numbered 1. 2. 3."),
    "scaffold.guide.step-2": ("bước tiếp theo", "the next step"),
    "scaffold.guide.fees": ("Phí, lệ phí", "Fees and charges"),
    "scaffold.guide.fee-item": ("Nội dung", "Item"),
    "scaffold.guide.fee-amount": ("Mức thu", "Amount"),
    "scaffold.guide.fee-item-hint": ("tên khoản phí", "name of the fee"),
    "scaffold.guide.fee-amount-hint": ("số tiền, ví dụ 8.000 đồng; hoặc Miễn phí", "the amount, e.g. 8.000 đồng; or Free"),
    "scaffold.guide.time": ("Thời hạn giải quyết", "Time to decide"),
    "scaffold.guide.time-hint": ("bao nhiêu ngày làm việc kể từ khi nhận đủ hồ sơ hợp lệ",
                                 "how many working days from a complete, valid application"),
    "scaffold.guide.office": ("Cơ quan giải quyết", "Deciding office"),
    "scaffold.guide.office-hint": ("tên cơ quan, địa chỉ Bộ phận Một cửa, giờ làm việc",
                                   "the office, the address of its one-stop desk, its opening hours"),
    "scaffold.guide.contact": ("Liên hệ", "Contact"),
    "scaffold.guide.contact-hint": ("số điện thoại, thư điện tử hoặc đường dây nóng để người dân hỏi thêm",
                                    "a phone number, e-mail or hotline for questions"),
    "scaffold.news.lead": ("đoạn mở đầu: việc gì, ở đâu, khi nào, ai thực hiện",
                           "the lead: what happened, where, when, who did it"),
    "scaffold.news.body": ("nội dung chính: kết quả, số liệu, ý nghĩa đối với người dân",
                           "the body: results, figures, what it means for citizens"),
    "scaffold.news.contact": ("nơi người dân hỏi thêm hoặc xem văn bản, nếu có (xóa dòng này nếu không có)",
                              "where citizens can ask or read the document, if anywhere (delete this line if not)"),
    "post.placeholder": ("còn chữ mẫu của `loa new` chưa thay: “{text}”; hãy viết nội dung thật vào chỗ này "
                         "(hoặc xóa cả mục nếu không áp dụng), rồi chạy lại `loa check`",
                         "text left from `loa new`: “{text}”; write the real content in its place "
                         "(or delete the section if it does not apply), then run `loa check` again"),
    "approval.queue-count": ("{count} bài chờ Ban biên tập duyệt", "{count} post(s) waiting for the editorial board"),
    "approval.not-board": ("`approved_by: {by}` không phải thành viên Ban biên tập ({board})", "`approved_by: {by}` is not an editorial board member ({board})"),
    "approval.own-post": ("{by} là tác giả nên không thể tự duyệt bài của mình", "{by} is the author and cannot approve their own post"),
    # config
    "config.error": ("cấu hình {path}: {key}: {detail}", "config {path}: {key}: {detail}"),
    "config.warning": ("cấu hình {path}: {key}: {detail}", "config {path}: {key}: {detail}"),
    # config details (pipeline/config.py); {value} arrives already quoted as Python shows it
    "config.no-file": ("không có config.toml trong thư mục này hay thư mục nào phía trên; chạy Loa trong kho nội dung "
                       "(ở bất kỳ thư mục con nào) hoặc dùng --config ĐƯỜNG_DẪN",
                       "no config.toml in this folder or any folder above it; run Loa inside the content repository "
                       "(any subfolder will do) or pass --config PATH"),
    "config.not-found": ("không tìm thấy tệp: {path}", "file not found: {path}"),
    "config.not-utf8": ("tệp không phải UTF-8 ({reason} ở byte {start}); hãy lưu tệp với bảng mã UTF-8",
                        "not valid UTF-8 ({reason} at byte {start}); save the file as UTF-8"),
    "config.toml-syntax": ("lỗi cú pháp TOML: {detail}", "TOML syntax error: {detail}"),
    "config.bad-timezone": ("múi giờ {value} không tồn tại; dùng tên IANA như \"Asia/Ho_Chi_Minh\"",
                            "unknown time zone {value}; expected an IANA name such as \"Asia/Ho_Chi_Minh\""),
    "config.duplicate-unit": ("mã đơn vị {value} bị trùng", "duplicate unit id {value}"),
    "config.valid-to-before-from": ("valid_to ở trước valid_from", "valid_to is before valid_from"),
    "config.bad-label": ("nhãn {value} không dùng được: cần từ 1 đến 80 ký tự, không có ký tự điều khiển",
                         "the label {value} cannot be used: 1 to 80 characters, no control characters"),
    "config.path-outside": ("{value} phải là đường dẫn tương đối nằm trong kho nội dung (không bắt đầu bằng / và không có ..)",
                            "{value} must be a relative path inside the content repository (no leading / and no ..)"),
    "config.org-overlap": ("tổ chức ban hành từ {start} trùng thời gian với mục trước; mỗi ngày chỉ một tổ chức ban hành báo cáo",
                           "the issuing organisation from {start} overlaps the entry before it; one organisation issues the reports on any day"),
    "config.unknown-successor": ("đơn vị kế thừa {value} không có; dùng một trong các mã đơn vị",
                                 "unknown unit {value}; expected one of the unit ids"),
    "config.unknown-channel-of": ("kênh {value} không có; dùng một trong: {choices}", "unknown channel {value}; expected one of: {choices}"),
    "config.unknown-channel": ("kênh {value} không có", "unknown channel {value}"),
    "config.end-before-start": ("end phải sau start", "end must be after start"),
    "config.unknown-unit": ("đơn vị {value} không có", "unknown unit {value}"),
    "config.unknown-topic-of": ("chủ đề {value} không có; dùng một trong: {choices}", "unknown topic {value}; expected one of: {choices}"),
    "config.expected-one-of": ("cần một trong: {choices} nhưng nhận được: {value}{hint_vi}",
                               "expected one of: {choices} but received: {value}{hint_en}"),
    "config.literal-secret": ("không được ghi khóa bí mật trong config.toml; đặt nó vào một biến môi trường và ghi {opt}_env = \"LOA_...\"",
                              "a secret must not be written in config.toml; put it in an environment variable and write {opt}_env = \"LOA_...\""),
    "config.unknown-key": ("khóa lạ{hint_vi}", "unknown key{hint_en}"),
    "config.wrong-type": ("cần {expected_vi} nhưng nhận được: {value}", "expected {expected_en} but received: {value}"),
    "config.required-for-type": ("bắt buộc với loại {ptype}: {doc}", "required for type {ptype}: {doc}"),
    "config.required": ("bắt buộc: {doc}", "required: {doc}"),
    "config.expected-table": ("cần một bảng nhưng nhận được: {value}", "expected a table but received: {value}"),
    "config.expected-array": ("cần một mảng bảng ([[{dotted}]]) nhưng nhận được: {value}",
                              "expected an array of tables ([[{dotted}]]) but received: {value}"),
    "config.expected-list-of": ("cần một danh sách {expected_vi} nhưng nhận được: {value}",
                                "expected a list of {expected_en} but received: {value}"),
    "config.bad-id": ("cần chữ thường không dấu, chữ số và dấu gạch ngang (ví dụ \"phuong-1\") nhưng nhận được: {value}",
                      "expected lower-case letters, digits and hyphens (e.g. \"phuong-1\") but received: {value}"),
    "config.bad-url": ("cần một địa chỉ http:// hoặc https:// nhưng nhận được: {value}",
                       "expected an http:// or https:// address but received: {value}"),
    "config.bad-email": ("cần một địa chỉ thư điện tử (ví dụ ubnd@vungtau.gov.vn) nhưng nhận được: {value}",
                         "expected an e-mail address (e.g. ubnd@vungtau.gov.vn) but received: {value}"),
    "config.bad-phone": ("cần một số điện thoại (chữ số, dấu cách, + . - ( )) nhưng nhận được: {value}",
                         "expected a telephone number (digits, spaces, + . - ( )) but received: {value}"),
    "config.bad-emblem": ("cần một tệp ảnh PNG, JPEG, WebP hoặc GIF (đường dẫn tính từ config.toml, không có `..`) hoặc một "
                          "địa chỉ https://; không dùng SVG vì có thể chứa mã chạy được. Nhận được: {value}",
                          "expected a PNG, JPEG, WebP or GIF image (a path relative to config.toml, without `..`) or an "
                          "https:// address; SVG is refused, it can carry scripts. Received: {value}"),
    "config.bad-host": ("cần tên máy chủ viết thường, không có `https://` hay đường dẫn (ví dụ \"www.youtube.com\") nhưng nhận được: {value}",
                        "expected a lower-case host name without `https://` or a path (e.g. \"www.youtube.com\") but received: {value}"),
    "config.bad-duration": ("không đọc được khoảng thời gian {value} (viết ví dụ \"90s\", \"10m\", \"24h\", \"30d\")",
                            "not a duration: {value} (write e.g. \"90s\", \"10m\", \"24h\", \"30d\")"),
    "config.bad-category": ("cần tên đường dẫn (slug) hoặc mã số của một chuyên mục WordPress nhưng nhận được: {value}",
                            "expected a category slug or id but received: {value}"),
    "config.type-unloadable": ("không nạp được loại kênh {ptype}: {detail}", "channel type {ptype} cannot be loaded: {detail}"),
    # loa backup / loa restore (docs/operations.md)
    "ops.backup-done": ("đã sao lưu sổ cái vào {path} (quyền 0600; kiểm tra toàn vẹn: ok; lược đồ phiên bản {version}). "
                        "Bản sao chứa khóa của kênh Zalo: giữ kín như sổ cái",
                        "the ledger is backed up to {path} (mode 0600; integrity check: ok; schema version {version}). "
                        "It holds Zalo's tokens: keep it as private as the ledger"),
    "ops.restore-done": ("đã khôi phục sổ cái từ {path} (lược đồ phiên bản {version})",
                         "the ledger is restored from {path} (schema version {version})"),
    "ops.restore-aside": ("sổ cái trước đó được giữ lại tại {aside}", "the previous ledger is kept as {aside}"),
    "ops.restore-next": ("khởi động lại dịch vụ (`systemctl start loa-run`), rồi `loa status` để xem các bài đã đăng sau bản sao lưu",
                         "start the service again (`systemctl start loa-run`), then `loa status` for what was sent after the backup"),
    # the ward loudspeaker (issue 20, docs/loudspeaker.md)
    "loudspeaker.no-stations": ("kênh loa cần ít nhất một đài: [channels.<tên>.stations.<mã-đài>] với wards và slots",
                                "a loudspeaker channel needs at least one station: [channels.<name>.stations.<station-id>] with wards and slots"),
    "loudspeaker.bad-station-id": ("mã đài {value} không hợp lệ; chỉ dùng chữ thường không dấu, số, - và _",
                                   "station id {value} is not valid; use lower-case letters, digits, - and _"),
    "loudspeaker.unknown-station-key": ("khóa này không có trong một đài; các khóa là: {choices}",
                                        "unknown key in a station; the keys are: {choices}"),
    "loudspeaker.no-wards": ("đài phải phục vụ ít nhất một phường/xã (wards = [\"mã-đơn-vị\"], mã trong [[units]])",
                             "a station must serve at least one ward (wards = [\"unit-id\"], ids from [[units]])"),
    "loudspeaker.not-a-ward": ("{value} là đơn vị loại {kind}, không phải phường/xã; đài loa chỉ phục vụ phường, xã",
                               "{value} is a unit of kind {kind}, not a ward or commune; a loudspeaker station serves wards and communes"),
    "loudspeaker.bad-slots": ("giờ phát phải là một danh sách không rỗng như [\"06:00\", \"17:30\"], nhận được {value}",
                              "broadcast slots must be a non-empty list like [\"06:00\", \"17:30\"], received {value}"),
    "loudspeaker.bad-slot": ("giờ phát {value} không hợp lệ; viết HH:MM theo giờ địa phương, ví dụ \"06:00\"",
                             "broadcast slot {value} is not valid; write HH:MM in local time, e.g. \"06:00\""),
    "loudspeaker.unknown-ward": ("đơn vị {value} không có trong [[units]]; viết mã một phường/xã đã khai báo: {choices}",
                                 "unknown unit {value} (not in [[units]]); write the id of a declared ward or commune: {choices}"),
    "loudspeaker.docx-note": ("Không đọc dòng này. {station}: {when} · mức {priority} · đọc khoảng {minutes} phút {seconds} giây",
                              "Not to be read. {station}: {when} · {priority} · about {minutes} min {seconds} s to read"),
    "loudspeaker.docx-slot": ("phát lúc {time} ngày {date}", "on air at {time} on {date}"),
    "loudspeaker.docx-at-once": ("phát ngay, ngoài giờ phát", "on air at once, outside the slots"),
    "loudspeaker.priority-normal": ("thường", "normal"),
    "loudspeaker.priority-priority": ("ưu tiên", "priority"),
    "loudspeaker.priority-emergency": ("khẩn cấp", "emergency"),
    "loudspeaker.bad-glossary": ("cách đọc {value} không hợp lệ; viết chữ đầy đủ trong ngoặc kép, ví dụ \"KP\" = \"khu phố\"",
                                 "reading {value} is not valid; write the full words in quotes, e.g. \"KP\" = \"khu phố\""),
    "loudspeaker.glossary-loop": ("cách đọc {value} lại chứa chính chữ viết tắt {abbr}, nên sẽ bị mở rộng lặp lại; bỏ {abbr} khỏi cách đọc",
                                  "reading {value} contains its own abbreviation {abbr}, so it would be expanded again; leave {abbr} out of it"),
    "loudspeaker.duplicate-slot": ("một giờ phát bị viết hai lần", "a broadcast slot is written twice"),
    "loudspeaker.unknown-type": ("loại bài {value} không có trong [content.types] ({choices})",
                                 "post type {value} is not in [content.types] ({choices})"),
    "loudspeaker.bad-repeat": ("quy tắc phát lại {value} không hợp lệ; viết ví dụ {{ times = 3, days = 3 }} (3 lần trong 3 ngày)",
                               "repeat rule {value} is not valid; write e.g. {{ times = 3, days = 3 }} (3 times over 3 days)"),
    "speech.espeak-missing": ("chưa cài espeak-ng (Debian: apt-get install espeak-ng)", "espeak-ng is not installed (Debian: apt-get install espeak-ng)"),
    "speech.none": ("kênh chọn engine = \"none\": không tạo âm thanh", "engine = \"none\": no audio is made"),
    "speech.no-key-var": ("chưa khai báo speech_key_env (tên biến môi trường chứa khóa FPT.AI)",
                          "speech_key_env is not set (the name of the variable holding the FPT.AI key)"),
    "speech.key-missing": ("biến môi trường {var} chưa được đặt", "environment variable {var} is not set"),
    "loudspeaker.bad-voice": ("giọng đọc {value} không hợp lệ; viết tên giọng, ví dụ \"vi\", \"vi-vn-x-south\", \"banmai\"",
                              "voice {value} is not valid; write a voice name, e.g. \"vi\", \"vi-vn-x-south\", \"banmai\""),
    "loudspeaker.drop-outside": ("thư mục giao bản tin {value} phải nằm trong kho nội dung (đường dẫn tương đối, không có ..); "
                                 "muốn giao ra chỗ khác thì gắn (mount) thư mục đó vào trong var/",
                                 "the drop folder {value} must be inside the content repository (a relative path without ..); "
                                 "to deliver elsewhere, mount that folder inside var/"),
    "loudspeaker.audio-missing": ("chưa có âm thanh: {reason}; kịch bản và manifest vẫn được giao để phát thanh viên đọc",
                                  "no audio: {reason}; the script and the manifest are delivered for the announcer to read"),
    "loudspeaker.report-title": ("Trên hệ thống thông tin cơ sở", "On the grassroots information system"),
    "loudspeaker.report-head": ("Đài | Bản tin | Lượt phát | Số phút phát", "Station | Bulletins | Broadcasts | Broadcast minutes"),
    "loudspeaker.report-none": ("Chưa có bản tin nào được phát trên loa trong kỳ.", "No bulletin went out on the loudspeakers in the period."),
    "loudspeaker.preview-script": ("Kịch bản đọc trên loa (khoảng {seconds} giây)", "Script read on the loudspeakers (about {seconds} seconds)"),
    "loudspeaker.preview-audio": ("Nghe thử", "Listen"),
    "loudspeaker.writes-to": ("giao bản tin vào {path}", "writes bulletins to {path}"),
    "loudspeaker.cannot-write": ("không ghi được vào {path}: {reason}", "cannot write to {path}: {reason}"),
    "loudspeaker.engine": ("bộ đọc {engine}: {state}", "speech engine {engine}: {state}"),
    "loudspeaker.engine-ready": ("sẵn sàng", "ready"),
    "loudspeaker.opening": ("lời mở đầu: {text}", "opening formula: {text}"),
    "loudspeaker.bad-formula": ("{reason} ({hint})", "{reason} ({hint})"),
    "loudspeaker.push-answers": ("{url} có trả lời", "{url} answers"),
    # the other channels' check lines (loa channels check, loa doctor) and their missing secret
    "channel.no-check": ("loại kênh này chưa có cách kiểm tra", "no check available for this channel type"),
    "channel.env-missing": ("biến môi trường {var} chưa được đặt", "environment variable {var} is not set"),
    "channel.env-missing.fix": ("đặt {var} trong môi trường của dịch vụ", "set {var} in the service environment"),
    "http.connect-timeout": ("không kết nối được tới máy chủ kịp thời hạn", "could not connect to the server in time"),
    "http.no-answer": ("máy chủ không trả lời kịp thời hạn", "the server did not answer in time"),
    "http.cannot-connect": ("không kết nối được tới máy chủ", "could not connect to the server"),
    "http.connection-lost": ("mất kết nối trước khi có câu trả lời", "the connection was lost before the answer"),
    "http.retries-check-network": ("Loa tự thử lại; hãy kiểm tra địa chỉ và mạng", "Loa retries by itself; check the address and the network"),
    "http.retries-check-server": ("Loa tự thử lại; nếu vẫn kéo dài, hãy kiểm tra máy chủ", "Loa retries by itself; if it lasts, check the server"),
    "webhook.answers": ("{url} có trả lời", "{url} answers"),
    "facebook.wrong-page": ("mã truy cập thuộc về {identity}, không phải trang {page}: dùng mã truy cập của Trang",
                            "the token belongs to {identity}, not to page {page}: use a Page token"),
    "facebook.token-invalid": ("Facebook báo mã truy cập không hợp lệ: {reason}", "Facebook says the token is not valid: {reason}"),
    "facebook.lacks-permissions": ("mã truy cập thiếu quyền {missing}", "the token lacks the permission(s) {missing}"),
    "facebook.token-expires": ("mã truy cập hết hạn lúc {when}", "token expires {when}"),
    "facebook.token-never-expires": ("mã truy cập không có hạn", "token does not expire"),
    "facebook.not-debugged": ("chưa kiểm tra quyền và hạn dùng: Facebook chỉ cho mã truy cập của ứng dụng biết "
                              "(đặt app_id và app_secret_env để kiểm tra)",
                              "permissions and expiry not checked: Facebook tells them only to an app token "
                              "(set app_id and app_secret_env to have them checked)"),
    "facebook.can-publish": ("đăng được lên {identity}", "can publish to {identity}"),
    "facebook.token-works": ("mã truy cập dùng được cho {identity}", "the token works for {identity}"),
    "zalo.oa": ("tài khoản Zalo OA {name} ({oa_id})", "Zalo OA {name} ({oa_id})"),
    "zalo.access-until": ("mã truy cập dùng được đến {when} (tự gia hạn)", "access token valid until {when} (renewed automatically)"),
    "zalo.refresh-lapses": ("mã làm mới được cấp lại lúc {issued}; hết hạn nếu không dùng đến {when}",
                            "refresh token renewed at {issued}; it lapses if unused until {when}"),
    "telegram.can-post": ("đăng được vào {title} dưới tên @{user}", "can post to {title} as @{user}"),
    "telegram.cannot-delete": ("bot không được xóa tin: việc gỡ bài sẽ phải làm bằng tay",
                               "the bot may not delete messages: retractions will have to be done by hand"),
    "telegram.not-admin": ("@{user} không phải quản trị viên được đăng bài của {title}; thêm bot trong phần cài đặt của kênh",
                           "@{user} is not an administrator of {title} allowed to post; add it in the channel's settings"),
    "mastodon.scopes-unknown": ("mã truy cập hợp lệ; máy chủ này chỉ cho mã truy cập có quyền `read` biết phạm vi quyền",
                                "the token is valid; this instance tells its scopes only to a token with `read`"),
    "mastodon.lacks-scopes": ("ứng dụng thiếu phạm vi quyền {missing}: tạo mã truy cập có write:statuses write:media",
                              "the app lacks the scope(s) {missing}: create a token with write:statuses write:media"),
    "mastodon.account": ("tài khoản Mastodon {identity}", "Mastodon account {identity}"),
    "mastodon.token-of": ("mã truy cập Mastodon của ứng dụng {app} trên {domain}", "Mastodon token of app {app} on {domain}"),
    "mastodon.max-characters": ("máy chủ này cho phép {limit} ký tự; Loa soạn cho {renders}",
                                "this instance allows {limit} characters; Loa renders for {renders}"),
    "mastodon.url-characters": ("máy chủ này tính mỗi địa chỉ là {count} ký tự, không phải 23",
                                "this instance counts URLs as {count} characters, not 23"),
    "wordpress.signed-in": ("đã đăng nhập {base} dưới tên {identity} bằng mật khẩu ứng dụng (dạng REST {form})",
                            "signed in to {base} as {identity} with an application password (REST form {form})"),
    "wordpress.lacks-capability": ("{user} ({roles}) không thể {why}: thiếu quyền {cap}; cho người dùng này vai trò Editor",
                                   "{user} ({roles}) cannot {why}: capability {cap} is missing; give the user the Editor role"),
    "wordpress.cap.publish_posts": ("đăng bài", "publish articles"),
    "wordpress.cap.edit_published_posts": ("sửa bài đã đăng", "correct published articles"),
    "wordpress.cap.delete_published_posts": ("gỡ bài đã đăng", "retract published articles"),
    "wordpress.cap.upload_files": ("tải ảnh đại diện lên", "upload featured images"),
    "wordpress.cap.manage_categories": ("tạo chuyên mục còn thiếu cho một loại bài mới", "create a missing category for a new post type"),
    # the static portal (publishers/static_site.py: loa channels check, loa doctor, loa publish, loa check)
    "site.writes-to": ("ghi cổng thông tin thành trang tĩnh vào {path}", "writes the portal as a static site to {path}"),
    "site.cannot-write": ("không ghi được vào {path}: {reason}", "cannot write to {path}: {reason}"),
    "site.no-emblem": ("không có tệp biểu trưng {path}: phần đầu trang chỉ hiện tên", "the emblem {path} is not there: the header shows the name alone"),
    "site.footer-lacks": ("chân trang thiếu những mục cổng thông tin điện tử của cơ quan nhà nước phải có: {missing} "
                          "(tùy chọn của [channels.{channel}], docs/configuration.md)",
                          "the footer lacks what a government portal must show: {missing} "
                          "(options of [channels.{channel}], docs/configuration.md)"),
    "site.page-taken": ("{path} đã là trang của bài {other}, bài {post} không dùng được địa chỉ này",
                        "{path} is already the page of {other}; {post} cannot take it"),
    "site.page-taken.fix": ("đổi slug của một trong hai bài (front matter: slug)", "give one of the two posts another slug (front matter: slug)"),
    "site.address-was": ("{path} từng là địa chỉ của bài {owner} trước khi bài đó đổi địa chỉ, và các liên kết đã chia sẻ khi ấy "
                         "vẫn dẫn tới đó (địa chỉ không bao giờ đổi chủ): bài {post} không được lấy địa chỉ này",
                         "{path} was the address of {owner} before it moved, and links shared then still lead there "
                         "(an address never changes hands): {post} cannot take it"),
    "site.address-was.fix": ("đổi slug của bài {post} (front matter: slug), rồi chạy lại loa publish",
                             "change the slug of {post} (front matter: slug), then run loa publish again"),
    "post.address-was-another": ("trang của bài này trên kênh {channel} sẽ là {path}, nhưng địa chỉ đó từng là của bài {owner}{owner_file} "
                                 "trước khi bài ấy đổi địa chỉ, và các liên kết đã chia sẻ vẫn dẫn tới bài ấy: bài này sẽ bị từ chối khi đăng. "
                                 "Đổi slug trong front matter (slug: ...)",
                                 "this post's page on channel {channel} would be {path}, but that address was {owner}'s{owner_file} "
                                 "before it moved, and links shared then still lead there: this post would be refused when published. "
                                 "Change the slug in the front matter (slug: ...)"),
    # the report's approval annex (pipeline/report/audit.py, docs/reports.md)
    "report.audit.title": ("Phụ lục: Nhật ký phê duyệt tin, bài", "Annex: approval log of the posts"),
    "report.audit.intro": ("Các lần Ban biên tập phê duyệt hoặc trả lại tin, bài được đăng trong kỳ.",
                           "Each time the editorial board approved or sent back a post published in the period."),
    "report.audit.cli-note": ("Phê duyệt bằng lệnh `loa approve` được ghi trong tệp bài (approved_by); thời điểm phê duyệt có trong lịch sử git của tệp.",
                              "An approval given with `loa approve` is recorded in the post's file (approved_by); its time is in the file's git history."),
    "report.audit.col.published": ("Ngày đăng", "Published"),
    "report.audit.col.title": ("Tiêu đề", "Title"),
    "report.audit.col.unit": ("Đơn vị", "Unit"),
    "report.audit.col.action": ("Thao tác", "Action"),
    "report.audit.col.by": ("Thành viên BBT", "Board member"),
    "report.audit.col.account": ("Tài khoản", "Account"),
    "report.audit.col.at": ("Thời điểm", "When"),
    "report.audit.col.frontend": ("Qua", "Through"),
    "report.audit.col.comment": ("Ý kiến", "Comment"),
    "report.audit.action.approve": ("Phê duyệt", "Approved"),
    "report.audit.action.send_back": ("Trả lại", "Sent back"),
    "report.audit.frontend.console": ("Bảng điều khiển web", "Web console"),
    "report.audit.frontend.cli": ("Lệnh loa approve", "The loa approve command"),
    "report.audit.at-unknown": ("không ghi nhận", "not recorded"),
}
CATALOGUE.update(_cli.MESSAGES)  # the loa command's words: --help, output, argparse (messages_cli.py)
CATALOGUE.update(_vendor.MESSAGES)  # a vendor's refusal (messages_vendor.py)
CATALOGUE.update(_publishers.MESSAGES)  # a publisher's other errors: an image, a quota, a lost answer (messages_publishers.py)


class Detail(str):
    """A message detail that is its English text (what logs, tests and ``str()`` see) and also knows
    its catalogue code, so that ``loa`` can show it in the user's language (:func:`localized`)."""

    def __new__(cls, code: str, **args):
        vi, en = CATALOGUE[code]
        obj = super().__new__(cls, string.Formatter().vformat(en, (), _Default(args)))
        obj.code, obj.args = code, args
        return obj

    def localized(self, lang: str) -> str:
        return text(self.code, lang, **{k: localized(v, lang) for k, v in self.args.items()})

    def __reduce__(self):  # pickle and copy rebuild it from its code, not from its English text
        return (_detail, (self.code, self.args))


def _detail(code: str, args: dict) -> Detail:
    return Detail(code, **args)


def localized(detail: str, lang: str) -> str:
    """``detail`` in ``lang`` when it came from the catalogue; as it is otherwise."""
    return detail.localized(lang) if isinstance(detail, Detail) else detail


def said(exc: BaseException, lang: str) -> str:
    """What an error says to a person in ``lang``: its catalogue Detail localized, any other message
    as it is (the CLI's error boundary and the console's pages show the same words)."""
    detail = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
    return localized(detail, lang)


def as_data(value):
    """A Detail as JSON data (``{"code", "args"}``, nested Details too), so that a message kept in the
    ledger can be shown later in either language (:func:`from_data`); anything else as it is."""
    if isinstance(value, Detail):
        return {"code": value.code, "args": {k: as_data(v) for k, v in value.args.items()}}
    return value if value is None or isinstance(value, (str, int, float)) else str(value)


def from_data(data, fallback: str | None) -> str | None:
    """The Detail :func:`as_data` kept, or ``fallback`` (its English text) when it cannot be rebuilt:
    a code this version does not know, or arguments that are not a table."""
    _load_contributions()
    if not (isinstance(data, dict) and data.get("code") in CATALOGUE and isinstance(data.get("args"), dict)):
        return fallback
    args = {k: from_data(v, None) if isinstance(v, dict) else v for k, v in data["args"].items()}
    return Detail(data["code"], **{k: "" if v is None else v for k, v in args.items()})


def register(messages: dict[str, tuple[str, str]]) -> None:
    """Add a module's own messages (code -> (vi, en))."""
    CATALOGUE.update(messages)


class _Default(dict):
    def __missing__(self, key: str) -> str:
        return ""


def text(code: str, lang: str = "vi", **args) -> str:
    _load_contributions()
    pair = CATALOGUE.get(code)
    if pair is None:
        return f"{code} {args}"
    template = pair[1] if lang == "en" else pair[0]
    return string.Formatter().vformat(template, (), _Default(args))


_loaded = False


def _load_contributions() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in ("pipeline.messages_text", "pipeline.webtext", "pipeline.consoletext"):
        try:
            m = __import__(mod, fromlist=["MESSAGES"])
        except ImportError:
            continue
        for table in (getattr(m, "MESSAGES", {}), getattr(m, "ACTIVITY_MESSAGES", {})):
            CATALOGUE.update({k: v for k, v in table.items() if k not in CATALOGUE})
