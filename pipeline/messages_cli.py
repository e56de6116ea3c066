"""The words of the ``loa`` command, part of the one catalogue (:mod:`pipeline.messages` merges
them in): each verb's ``--help``, its output, the status reasons, the ledger states shown by
``loa log``, and argparse's own words (usage, errors), all in Vietnamese and English.

Kept apart from :mod:`pipeline.messages` (the content and config messages) only so neither file
grows past a readable size; codes never collide (``help.``, ``metavar.``, ``argparse.``,
``cli.``, ``reason.``, ``state.`` and one prefix per verb). ``tests/test_i18n.py`` fails when a
front end prints a string that is not looked up here, or when a code lacks a language or the two
languages disagree on ``{placeholders}``.
"""

from __future__ import annotations

# -- --help: the top-level options and every verb (help.<verb>, help.<verb>.<option>) ------------
HELP: dict[str, tuple[str, str]] = {
    "help.loa": ("Loa: bài viết Markdown trong git -> Cổng thông tin điện tử và các kênh mạng xã hội, mỗi bài đăng đúng một lần.",
                 "Loa: Markdown posts in git -> e-portal and social channels, exactly once."),
    "help.verbs": ("lệnh", "verbs"),
    "help.opt.config": ("đường dẫn tới config.toml (mặc định: config.toml của kho nội dung đang đứng)",
                        "path to config.toml (default: the content repository's config.toml)"),
    "help.opt.lang": ("ngôn ngữ của thông báo và trợ giúp: vi (tiếng Việt, mặc định) hoặc en (tiếng Anh); "
                      "cũng đặt được bằng biến môi trường LOA_LANG",
                      "language of messages and help: vi (Vietnamese, the default) or en (English); "
                      "also the LOA_LANG environment variable"),
    "help.opt.verbose": ("in thêm chi tiết (-v -v: rất chi tiết)", "more detail (-v -v: debug)"),
    "help.opt.log-format": ("dòng nhật ký dạng chữ (mặc định) hoặc mỗi dòng một đối tượng JSON, cho hệ thống thu nhật ký",
                            "log lines as text (default) or one JSON object per line, for log shippers"),
    "help.opt.channel": ("chỉ kênh này (tên kênh trong config.toml)", "only this channel (its name in config.toml)"),
    "help.opt.by": ("ai làm việc này (mặc định: tên đăng nhập)", "who does this (default: login name)"),
    "help.opt.now": ("coi như bây giờ là thời điểm này (giờ của trang)", "as at this time (site zone)"),
    "help.opt.format": ("định dạng đầu ra", "output format"),
    # loa new
    "help.new": ("tạo bài mới với mã riêng tại content/<loại>/<năm>/<địa-chỉ-bài>.md (không bao giờ ghi đè)",
                 "write a new post with a fresh id at content/<type>/<year>/<slug>.md (never overwrites)"),
    "help.new.type": ("loại bài (news: tin tức, guide: hướng dẫn)", "post type (news, guide)"),
    "help.new.title": ("tiêu đề bài viết", "title of the post"),
    "help.new.unit": ("mã đơn vị, ví dụ phuong-1", "unit id, e.g. phuong-1"),
    "help.new.at": ("thời điểm đăng, ví dụ \"2024-03-25 08:00\" (giờ của trang)", "publish time, e.g. \"2024-03-25 08:00\" (site zone)"),
    "help.new.author": ("tên tác giả (mặc định: user.name của git)", "author name (default: git user.name)"),
    "help.new.topic": ("mã chủ đề; lặp lại nếu có nhiều chủ đề", "topic id; repeat for several"),
    # loa approve
    "help.approve": ("ghi nhận thành viên Ban biên tập duyệt một bài, gắn với đúng nội dung đã duyệt; --list: các bài chờ duyệt",
                     "record approval of a post by an editorial board member, bound to its content; --list: the queue"),
    "help.approve.path": ("tệp bài viết", "the post file"),
    "help.approve.by": ("tên thành viên Ban biên tập, đúng như trong editorial.board", "name of the board member, as in editorial.board"),
    "help.approve.list": ("liệt kê các bài chờ duyệt và phần đã sửa từ lần duyệt trước",
                          "list the posts waiting for approval and what changed since the last one"),
    # loa check
    "help.check": ("kiểm tra config.toml và mọi bài viết; in từng vấn đề dạng đường-dẫn:dòng:cột: lỗi|cảnh báo: nội dung [mã]",
                   "check config.toml and every post; print problems as path:line:col: error|warning: message [code]"),
    "help.check.paths": ("bài hoặc thư mục cần kiểm tra (mặc định: cả thư mục content/)", "posts or folders to check (default: all of content/)"),
    "help.check.strict": ("coi cảnh báo như lỗi", "treat warnings as errors"),
    "help.check.fix": ("sửa những gì sửa được an toàn (Unicode NFC, bảng mã cũ, Ð, kiểu bỏ dấu) và in ra từng thay đổi",
                       "repair what can be repaired safely (Unicode NFC, legacy encodings, Ð, tone style) and show every change"),
    "help.check.backup": ("đi cùng --fix: giữ một bản .bak của mỗi tệp được sửa", "with --fix: keep a .bak copy of each file changed"),
    # loa preview
    "help.preview": ("tạo trang xem trước: mỗi bài đúng như từng kênh sẽ nhận, kèm số ký tự",
                     "write a static preview site: every post as every channel will receive it, with character counts"),
    "help.preview.paths": ("bài hoặc thư mục (mặc định: tất cả)", "posts or folders (default: all)"),
    "help.preview.out": ("thư mục kết quả (mặc định: preview.out_dir, var/preview)", "output folder (default: preview.out_dir, var/preview)"),
    "help.preview.now": ("hiện trạng thái tại thời điểm này (mặc định: bây giờ)", "show states as at this time (default: now)"),
    "help.preview.jobs": ("số tiến trình làm việc (mặc định: số lõi CPU)", "worker processes (default: number of cores)"),
    # loa publish
    "help.publish": ("chạy một lượt đăng: gửi mỗi bài đến giờ tới các kênh của nó, đúng một lần",
                     "run one publishing pass: send every due item to its channels, exactly once"),
    "help.publish.epilog": (
        "mã thoát:\n"
        "  0   mọi việc ổn\n"
        "  1   có lỗi không tự khắc phục được hoặc lỗi phần mềm, hoặc một kênh bị tạm giữ vì lỗi xác thực\n"
        "      (mỗi lượt đều báo cho đến khi sửa: sửa khóa truy cập rồi chạy loa retry --channel KÊNH)\n"
        "  2   lỗi cấu hình hoặc dùng sai lệnh\n"
        "  75  chỉ còn lỗi tạm thời (thử lại sau)\n"
        "\n"
        "--now T xét bài nào đến giờ tại thời điểm T (docs/delivery.md): với --dry-run được mọi thời điểm 1970-2199;\n"
        "ở lượt gửi thật, T không được muộn hơn giờ thật. Dù T là gì, sổ cái vẫn ghi giờ thật\n"
        "(nhận việc, giữ chỗ, lần đăng đầu), để các lượt sau không bị nhầm.\n"
        "--replay-until D đăng mỗi bài đến hạn trước D theo đúng publish_at của nó (lịch sử cho sổ cái trình diễn,\n"
        "ví dụ nội dung mẫu năm 2024); đọc docs/delivery.md trước khi dùng.",
        "exit codes:\n"
        "  0   all well\n"
        "  1   a permanent failure or a bug, or a channel is held after an authentication failure\n"
        "      (every pass while the hold lasts: fix the credential, then loa retry --channel C)\n"
        "  2   config or usage error\n"
        "  75  only transient failures left (try again later)\n"
        "\n"
        "--now T decides what is due as at T (docs/delivery.md): with --dry-run any time 1970-2199;\n"
        "on a pass that sends, T may not be later than the real time. Whatever T is, the ledger\n"
        "records the real time (claims, leases, first publication), so later passes are not confused.\n"
        "--replay-until D publishes each post due by D as of its own publish_at (a demo ledger's\n"
        "history, e.g. the sample content into 2024); see docs/delivery.md before using it."),
    "help.publish.dry-run": ("cho xem những gì sẽ được gửi; không thay đổi gì", "show what would be sent; change nothing"),
    "help.publish.now": ("xét bài đến giờ tại thời điểm này (giờ của trang); muộn hơn giờ thật chỉ khi có --dry-run",
                         "decide what is due as at this time (site zone); later than the real time only with --dry-run"),
    "help.publish.replay-until": ("đăng mỗi bài đến hạn trước NGÀY theo đúng publish_at của nó (lịch sử cho sổ cái trình diễn; docs/delivery.md)",
                                  "publish each post due by DATE as of its own publish_at (a demo ledger's history; docs/delivery.md)"),
    "help.publish.post": ("chỉ bài có mã này", "only this post id"),
    # loa run
    "help.run": ("chạy dịch vụ nền: đăng mỗi bài đúng giờ, lấy tin từ các nguồn, viết báo cáo định kỳ",
                 "run the daemon: publish each post at its time, ingest feeds, write periodic reports"),
    "help.run.once": ("chạy một nhịp rồi thoát (cho cron hoặc kiểm thử)", "one tick, then exit (for cron or a test)"),
    # loa status
    "help.status": ("những gì sẽ đăng trong 14 ngày tới, những gì đang bị giữ và vì sao, gửi lỗi, chưa rõ đã đăng chưa",
                    "what goes out in the next 14 days, what is held and why, what failed, what is in doubt"),
    "help.status.days": ("số ngày nhìn trước (mặc định 14)", "how many days ahead (default 14)"),
    # loa log
    "help.log": ("mọi bài trên mọi kênh, kèm đường liên kết", "every item on every channel, with its link"),
    "help.log.since": ("từ ngày này (giờ của trang)", "from this date (site zone)"),
    "help.log.unit": ("chỉ đơn vị này (mã đơn vị)", "only this unit (its id)"),
    "help.log.search": ("các từ trong tiêu đề (không phân biệt dấu và chữ hoa)", "words in the title (diacritics and case do not matter)"),
    "help.log.format": ("table: bảng để đọc (mặc định); csv: mở bằng Excel (tiêu đề cột và trạng thái theo --lang); "
                        "json: cho chương trình khác (khóa và trạng thái luôn bằng tiếng Anh)",
                        "table: for reading (default); csv: for a spreadsheet (headers and states in --lang); "
                        "json: for programs (keys and states always in English)"),
    # loa retry / resolve / pause / resume / retract
    "help.retry": ("gửi lại ngay các bài bị lỗi (và bỏ tạm giữ một kênh sau khi đã sửa khóa truy cập)",
                   "send failed items again now (and lift a channel hold after credentials were fixed)"),
    "help.retry.post": ("mã bài (mặc định: mọi bài bị lỗi)", "post id (default: all failed)"),
    "help.resolve": ("xác nhận một bài chưa rõ: nó đã được đăng tại URL, hoặc chưa được đăng",
                     "settle an item in doubt: it was published at URL, or it was not"),
    "help.resolve.post": ("mã bài", "post id"),
    "help.resolve.channel": ("tên kênh", "channel name"),
    "help.resolve.published": ("bài đã được đăng tại địa chỉ này", "it was published at this address"),
    "help.resolve.remote-id": ("mã của bài trên kênh đó, nếu biết", "the vendor's id of the item, when known"),
    "help.resolve.not-published": ("bài chưa được đăng (sẽ gửi lại ở lượt sau)", "it was not published (it is sent at the next pass)"),
    "help.pause": ("tạm dừng đăng (một kênh hoặc mọi kênh) cho đến khi loa resume; có ghi lại ai làm",
                   "stop publishing (one channel or all) until loa resume; audited"),
    "help.pause.channel": ("chỉ dừng kênh này (mặc định: mọi kênh)", "only this channel (default: every channel)"),
    "help.pause.reason": ("lý do, ví dụ \"Quốc tang\"", "the reason, e.g. \"national mourning\""),
    "help.resume": ("đăng tiếp sau loa pause (không có --channel: mọi lần tạm dừng đều kết thúc)",
                    "resume publishing after loa pause (without --channel: every pause ends)"),
    "help.resume.channel": ("chỉ tiếp tục kênh này", "only this channel"),
    "help.retract": ("đánh dấu gỡ một bài (ghi vào phần thông tin đầu bài); lượt đăng sau sẽ gỡ nó xuống",
                     "mark a post retracted (written into its front matter); the next pass takes it down"),
    "help.retract.path": ("tệp bài viết", "the post file"),
    "help.retract.reason": ("lý do gỡ bài (ghi vào retracted:)", "why it is taken down (written as retracted:)"),
    # loa channels / site
    "help.channels": ("kiểm tra khóa truy cập và quyền của từng kênh (loa channels check)",
                      "check every channel's credentials and permissions (loa channels check)"),
    "help.channels.action": ("việc cần làm: check (kiểm tra)", "what to do: check"),
    "help.site": ("dựng lại Cổng thông tin tĩnh từ sổ cái và nội dung (khi tệp danh mục bị mất hay hỏng)",
                  "rebuild the static e-portal from the ledger and the content (after its manifest was lost or damaged)"),
    "help.site.action": ("việc cần làm: rebuild (dựng lại)", "what to do: rebuild"),
    "help.site.channel": ("kênh static_site (mặc định: kênh đầu tiên)", "the static_site channel (default: the first one)"),
    # loa report
    "help.report": ("viết báo cáo định kỳ (quý, 6 tháng, 9 tháng, năm, tháng) từ sổ cái",
                    "write the periodic report (quarter, six months, nine months, year, month) from the ledger"),
    "help.report.period": ("kỳ báo cáo: 2024-Q1 … 2024-Q4, 2024-H1, 2024-H2, 2024-9M, 2024, 2024-03",
                           "2024-Q1 … 2024-Q4, 2024-H1, 2024-H2, 2024-9M, 2024, 2024-03"),
    "help.report.unit": ("một đơn vị (và các đơn vị đã sáp nhập vào nó)", "one unit (and the units merged into it)"),
    "help.report.format": ("md, html, docx, pdf, xlsx, csv, json (lặp lại được; mặc định md)", "md, html, docx, pdf, xlsx, csv, json (repeatable; default md)"),
    "help.report.out": ("thư mục (mặc định: report.out_dir, reports/)", "folder (default: report.out_dir, reports/)"),
    "help.report.as-of": ("sổ cái như tại thời điểm này", "the ledger as it was at this time"),
    "help.report.now": ("ngày của báo cáo (mặc định: hôm nay)", "date of the report (default: today)"),
    # loa ingest
    "help.ingest": ("lấy tin từ các nguồn tin của cơ quan nhà nước đã cấu hình thành bản nháp để duyệt (content/drafts/)",
                    "fetch the configured government feeds into drafts for review (content/drafts/)"),
    "help.ingest.dry-run": ("cho xem những gì sẽ được tạo; không ghi gì", "show what would be created; write nothing"),
    "help.ingest.items": ("liệt kê mọi tin đã xét", "list every item considered"),
    # loa doctor / backup / restore
    "help.doctor": ("kiểm tra mọi thứ máy chủ cần (cấu hình, khóa bí mật, sổ cái, quyền tệp, kho git, ổ đĩa, đồng hồ, "
                    "các kênh) và nói cần sửa gì",
                    "check everything a deployment needs (config, secrets, ledger, file modes, git remote, disk, "
                    "clock, channels) and say what to fix"),
    "help.doctor.min-free-gb": ("dung lượng trống cần có trên ổ chứa sổ cái, trang và nội dung (GB, mặc định 1)",
                                "free space needed on the ledger's, the site's and the content's file systems (default 1)"),
    "help.doctor.git-timeout": ("số giây tối đa cho git ls-remote (mặc định 20)", "seconds git ls-remote may take (default 20)"),
    "help.backup": ("chép sổ cái SQLite sang một tệp mới, nhất quán ngay cả khi dịch vụ đang chạy, rồi kiểm tra bản sao",
                    "copy the SQLite ledger to a new file, consistently while the daemon runs, and verify the copy"),
    "help.backup.path": ("tệp sao lưu mới (không bao giờ ghi đè)", "the new backup file (never overwritten)"),
    "help.restore": ("đặt một bản sao lưu đã kiểm tra vào chỗ sổ cái SQLite (dịch vụ phải dừng); sổ cái hiện tại được giữ lại",
                     "put a verified backup in place of the SQLite ledger (no daemon may run); the current one is kept aside"),
    "help.restore.path": ("tệp do loa backup tạo ra", "a file written by loa backup"),
    # loa users / loa serve (the web console, issue 18)
    "help.users": ("tài khoản của trang quản trị trên web: add TÊN --role staff|board|it|reports (thêm), disable (khóa), "
                   "enable (mở khóa), reset (đặt lại mật khẩu), list (liệt kê)",
                   "web console accounts: add NAME --role staff|board|it|reports, disable, enable, reset, list"),
    "help.users.action": ("việc cần làm: add, disable, enable, reset, list", "what to do: add, disable, enable, reset, list"),
    "help.users.name": ("tên đăng nhập (một từ, không dấu)", "the account name people sign in with (one word)"),
    "help.users.role": ("đi cùng add: vai trò (staff: cán bộ viết bài, board: Ban biên tập, it: kỹ thuật, reports: báo cáo)",
                        "with add: what the person may do"),
    "help.users.full-name": ("đi cùng add: họ tên như ghi trong bài và trong Ban biên tập (editorial.board), ví dụ "
                             "\"Lê Thị Mai\"; mặc định là TÊN",
                             "with add: the person's name as written in posts and on the board (editorial.board); default NAME"),
    "help.users.password-stdin": ("đọc mật khẩu từ một dòng của đầu vào chuẩn (stdin)", "read the password from one line of standard input"),
    "help.serve": ("chạy trang quản trị trên web (uvicorn), mặc định tại 127.0.0.1:8080",
                   "run the web console (uvicorn) on 127.0.0.1:8080 unless told otherwise"),
    "help.serve.host": ("địa chỉ lắng nghe (mặc định 127.0.0.1: chỉ máy này; đưa ra ngoài qua một proxy TLS, xem "
                        "docs/deploying.md)",
                        "address to listen on (default 127.0.0.1: only this machine; publish it through a TLS reverse "
                        "proxy, docs/deploying.md)"),
    "help.serve.port": ("cổng lắng nghe (mặc định 8080)", "port to listen on (default 8080)"),
}

#: Placeholders of values in --help and usage lines (argparse's metavar), by option name.
METAVARS: dict[str, tuple[str, str]] = {
    "metavar.verb": ("LỆNH", "VERB"), "metavar.config": ("TỆP", "CONFIG"), "metavar.lang": ("NGÔN_NGỮ", "LANG"),
    "metavar.channel": ("KÊNH", "CHANNEL"), "metavar.by": ("TÊN", "BY"), "metavar.now": ("THỜI_ĐIỂM", "NOW"),
    "metavar.reason": ("LÝ_DO", "REASON"), "metavar.post": ("MÃ_BÀI", "POST"), "metavar.path": ("TỆP", "PATH"),
    "metavar.paths": ("ĐƯỜNG_DẪN", "PATH"), "metavar.unit": ("ĐƠN_VỊ", "UNIT"), "metavar.at": ("THỜI_ĐIỂM", "AT"),
    "metavar.author": ("TÁC_GIẢ", "AUTHOR"), "metavar.topic": ("CHỦ_ĐỀ", "TOPIC"), "metavar.title": ("TIÊU_ĐỀ", "TITLE"),
    "metavar.type": ("LOẠI", "TYPE"), "metavar.out": ("THƯ_MỤC", "OUT"), "metavar.jobs": ("SỐ", "JOBS"),
    "metavar.days": ("SỐ_NGÀY", "DAYS"), "metavar.since": ("NGÀY", "SINCE"), "metavar.search": ("TỪ_KHÓA", "SEARCH"),
    "metavar.period": ("KỲ", "PERIOD"), "metavar.format": ("ĐỊNH_DẠNG", "FORMAT"), "metavar.as_of": ("THỜI_ĐIỂM", "AS_OF"),
    "metavar.published": ("URL", "URL"), "metavar.remote_id": ("MÃ", "REMOTE_ID"), "metavar.replay_until": ("NGÀY", "DATE"),
    "metavar.min_free_gb": ("GB", "MIN_FREE_GB"), "metavar.git_timeout": ("GIÂY", "GIT_TIMEOUT"),
    "metavar.log_format": ("KIỂU", "LOG_FORMAT"), "metavar.action": ("VIỆC", "ACTION"),
    "metavar.name": ("TÊN", "NAME"), "metavar.full_name": ("HỌ_TÊN", "FULL_NAME"), "metavar.host": ("ĐỊA_CHỈ", "HOST"),
    "metavar.port": ("CỔNG", "PORT"),
}

#: argparse's own words (it looks them up through gettext; pipeline/commands/parser.py answers
#: from here). The English text is argparse's msgid; the Vietnamese keeps its %-placeholders.
ARGPARSE: dict[str, tuple[str, str]] = {
    "argparse.usage": ("cách dùng: ", "usage: "),
    "argparse.positionals": ("tham số", "positional arguments"),
    "argparse.options": ("tùy chọn", "options"),
    "argparse.help": ("in trợ giúp này rồi thoát", "show this help message and exit"),
    "argparse.version": ("in số phiên bản của chương trình rồi thoát", "show program's version number and exit"),
    "argparse.error": ("%(prog)s: lỗi: %(message)s\n", "%(prog)s: error: %(message)s\n"),
    "argparse.argument": ("tham số %(argument_name)s: %(message)s", "argument %(argument_name)s: %(message)s"),
    "argparse.ambiguous": ("tùy chọn không rõ ràng: %(option)s có thể là %(matches)s", "ambiguous option: %(option)s could match %(matches)s"),
    "argparse.expected-one": ("cần một giá trị", "expected one argument"),
    "argparse.expected-at-least-one": ("cần ít nhất một giá trị", "expected at least one argument"),
    "argparse.expected-at-most-one": ("cần nhiều nhất một giá trị", "expected at most one argument"),
    "argparse.expected-n": ("cần %s giá trị", "expected %s argument"),
    "argparse.expected-n-plural": ("cần %s giá trị", "expected %s arguments"),
    "argparse.ignored-explicit": ("không dùng được giá trị %r ở đây", "ignored explicit argument %r"),
    "argparse.invalid-value": ("giá trị không hợp lệ (cần kiểu %(type)s): %(value)r", "invalid %(type)s value: %(value)r"),
    "argparse.invalid-choice": ("lựa chọn không hợp lệ: %(value)r (chọn một trong: %(choices)s)",
                                "invalid choice: %(value)r (choose from %(choices)s)"),
    "argparse.not-allowed-with": ("không dùng được cùng với tham số %s", "not allowed with argument %s"),
    "argparse.one-required": ("cần một trong các tham số %s", "one of the arguments %s is required"),
    "argparse.required": ("thiếu các tham số bắt buộc: %s", "the following arguments are required: %s"),
    "argparse.unrecognized": ("không hiểu các tham số: %s", "unrecognized arguments: %s"),
    "argparse.unknown-parser": ("không có lệnh %(parser_name)r (các lệnh: %(choices)s)", "unknown parser %(parser_name)r (choices: %(choices)s)"),
    "argparse.cannot-open": ("không mở được '%(filename)s': %(error)s", "can't open '%(filename)s': %(error)s"),
}

# -- what the verbs print ------------------------------------------------------------------------
OUTPUT: dict[str, tuple[str, str]] = {
    "cli.internal-error": ("loa: lỗi bên trong (lỗi của phần mềm Loa; hãy gửi nguyên văn đoạn dưới đây cho bộ phận kỹ thuật):",
                           "loa: internal error (a bug in Loa; please report it with this text):"),
    "cli.bad-time": ("{option}: không đọc được {value}; viết dạng \"2024-03-25 08:00\"",
                     "{option}: cannot read {value}; write \"2024-03-25 08:00\""),
    "cli.time-range": ("{option}: {value} nằm ngoài khoảng năm {first}-{last}", "{option}: {value} is outside the years {first}-{last}"),
    "cli.all-channels": ("mọi kênh", "all channels"),
    # publish
    "publish.replay-combined": ("--replay-until không dùng cùng --now, --dry-run hay --post được",
                                "--replay-until cannot be combined with --now, --dry-run or --post"),
    "publish.future-now": ("--now {value} ở tương lai: lượt gửi thật luôn chạy theo giờ thật; dùng --dry-run để xem lúc đó sẽ gửi gì",
                           "--now {value} is in the future: a pass that sends acts at the real time; "
                           "use --dry-run to see what would go out then"),
    "publish.held": ("KÊNH {channel} BỊ TẠM GIỮ: {message}; sửa xong thì chạy loa retry --channel {channel}",
                     "HELD {channel}: {message}; fix it, then loa retry --channel {channel}"),
    "publish.dry-run": ("(chạy thử) ", "(dry run) "),
    "publish.summary": ("đã gửi {sent}, cập nhật {updated}, gỡ {retracted}, bỏ qua {skipped}, đối soát {settled}, "
                        "chờ thử lại {transient}, lỗi {permanent}, lỗi phần mềm {bugs}, chưa rõ {in_doubt}, bị giữ {held}",
                        "sent {sent}, updated {updated}, retracted {retracted}, skipped {skipped}, reconciled {settled}, "
                        "retrying {transient}, failed {permanent}, bugs {bugs}, in doubt {in_doubt}, held {held}"),
    # the lines of a publishing pass (pipeline/publish.py writes them as Details: English in logs)
    "pass.skip": ("bỏ qua {post} {channel}: {reason}", "skip {post} {channel}: {reason}"),
    "pass.would-create": ("sẽ đăng {post} lên {channel}{why}", "would create {post} on {channel}{why}"),
    "pass.would-update": ("sẽ cập nhật {post} trên {channel}{why}", "would update {post} on {channel}{why}"),
    "pass.would-retract": ("sẽ gỡ {post} khỏi {channel}{why}", "would retract {post} on {channel}{why}"),
    "pass.would-reconcile": ("sẽ đối soát {post} trên {channel}{why}", "would reconcile {post} on {channel}{why}"),
    "pass.render-failed": ("không tạo được nội dung {post} cho {channel}: {reason}", "render failed {post} {channel}: {reason}"),
    "pass.left": ("{channel}: {reason}; để lại cho lượt sau", "{channel}: {reason}; left for the next run"),
    "pass.stopping": ("dừng: {channel} để lại cho lượt sau", "stopping: {channel} left for the next run"),
    "pass.ledger-unavailable": ("không kết nối được sổ cái: {channel} dừng ở lượt này", "ledger unavailable: {channel} stopped for this run"),
    "pass.claim-lost": ("mất quyền xử lý {post} trên {channel}: tiến trình khác sẽ đối soát",
                        "lost the claim on {post} on {channel}: another worker reconciles it"),
    "pass.done-create": ("đã đăng {post} lên {channel}: {link}", "create {post} on {channel}: {link}"),
    "pass.done-update": ("đã cập nhật {post} trên {channel}: {link}", "update {post} on {channel}: {link}"),
    "pass.done-retract": ("đã gỡ {post} khỏi {channel}: {link}", "retract {post} on {channel}: {link}"),
    "pass.in-doubt": ("CHƯA RÕ {post} trên {channel}: {reason}", "IN DOUBT {post} on {channel}: {reason}"),
    "pass.failed": ("lỗi {post} trên {channel}: {reason}{vendor}", "failed {post} on {channel}: {reason}{vendor}"),
    "pass.gave-up": ("thôi gửi {post} lên {channel} sau {attempts} lần: {reason}", "gave up {post} on {channel} after {attempts} attempts: {reason}"),
    "pass.retry": ("thử lại {post} trên {channel} sau {delay} giây: {reason}", "retry {post} on {channel} in {delay}s: {reason}"),
    "pass.wait": ("chờ {post} trên {channel} {delay} giây (giới hạn tần suất, chưa tính là một lần thử): {reason}",
                  "wait {post} on {channel} {delay}s (rate limit, no attempt spent): {reason}"),
    "pass.bug": ("LỖI PHẦN MỀM {post} trên {channel}: {reason}", "BUG {post} on {channel}: {reason}"),
    "pass.held": ("KÊNH {channel} BỊ TẠM GIỮ: {reason}{hint}", "CHANNEL {channel} HELD: {reason}{hint}"),
    "pass.in-doubt-resolve": ("CHƯA RÕ {post} trên {channel}: chạy `loa resolve {post} {channel} --published URL | --not-published`",
                              "IN DOUBT {post} on {channel}: run `loa resolve {post} {channel} --published URL | --not-published`"),
    "pass.result-lost": ("không biết kết quả của lần gửi, và không hỏi được kênh {type} xem bài đã lên chưa",
                         "the result of a send was lost and {type} cannot be asked"),
    "pass.result-edited": ("không biết kết quả của lần gửi, và bài đã được sửa từ đó: kênh {type} chỉ tìm được bài theo nội dung mới",
                           "the result of a send was lost and the post was edited since: {type} can only be searched for the new text"),
    "pass.result-lost.fix": ("xem trên kênh bài đã có chưa rồi chạy `loa resolve`", "check the channel and run loa resolve"),
    "pass.absent": ("đã đối soát {post} trên {channel}: chưa có ở đó, đang gửi", "reconciled {post} on {channel}: not there, sending"),
    "pass.settled": ("đã đối soát {post} trên {channel}: đã đăng sẵn tại {link}", "reconciled {post} on {channel}: already published at {link}"),
    # status
    "status.days-range": ("--days: {value} nằm ngoài khoảng cho phép: từ 0 đến 3660", "--days: {value} is out of range: from 0 to 3660"),
    # retry / resolve / pause / resume / retract
    "retry.lifted": ("đã bỏ tạm giữ kênh {channel}", "lifted hold on {channel}"),
    "retry.count": ("{count} bài sẽ được gửi lại ở lượt đăng tới", "{count} item(s) will be sent again at the next pass"),
    "resolve.exactly-one": ("cần đúng một trong hai: --published URL hoặc --not-published",
                            "give exactly one of --published URL or --not-published"),
    "resolve.done": ("{post} trên {channel}: {state}", "{post} on {channel}: {state}"),
    "retry.unknown": ("sổ cái không có bài {post}; xem mã bài bằng `loa log` hoặc `loa status`",
                      "the ledger has no item {post}; see the ids with `loa log` or `loa status`"),
    "publish.unknown-post": ("không có bài {post} trong thư mục nội dung hay sổ cái; xem mã bài bằng `loa status` hoặc `loa log`",
                             "no post {post} in the content or the ledger; see the ids with `loa status` or `loa log`"),
    "resolve.unknown": ("sổ cái không có bài {post} trên kênh {channel}; xem mã bài và kênh của các bài chưa rõ bằng `loa status`",
                        "the ledger has no item {post} on {channel}; `loa status` lists the items in doubt with their ids"),
    "resolve.not-in-doubt": ("{post} trên {channel} không ở trạng thái chưa rõ (trạng thái {state}); không có gì để xác nhận",
                             "{post} on {channel} is not in doubt (state {state}); nothing to resolve"),
    "cli.unknown-channel": ("không có kênh {value}; dùng một trong: {choices}", "unknown channel {value}; expected one of: {choices}"),
    "replay.future": ("--replay-until {until} ở tương lai; chỉ phát lại được quá khứ",
                      "--replay-until {until} is in the future; replay only into the past"),
    "replay.before-last": ("sổ cái đã có bài đăng đến {last}; phát lại chỉ tiếp tục sau thời điểm đó",
                           "the ledger already holds publications up to {last}; a replay only continues after them"),
    "site.needs-static": ("{channel}: loa site rebuild cần một kênh static_site", "{channel}: loa site rebuild needs a static_site channel"),
    "pause.done": ("đã tạm dừng {channel}: {reason}", "paused {channel}: {reason}"),
    "resume.done": ("đã cho đăng tiếp {channel} ({count} lần tạm dừng kết thúc)", "resumed {channel} ({count} pause(s) ended)"),
    "resume.still": ("vẫn đang tạm dừng: {channel} ({reason}); loa resume{option}", "still paused: {channel} ({reason}); loa resume{option}"),
    "retract.no-file": ("không có tệp bài viết này: {path}", "no such post file: {path}"),
    "retract.no-front": ("{path}: không ghi được `retracted:` vì không đọc được phần đầu bài; chạy `loa check {path}` để xem lỗi",
                         "{path}: cannot write `retracted:` because its front matter cannot be read; run `loa check {path}` to see why"),
    "retract.done": ("{path}: đã ghi retracted: {reason}; lượt đăng tới sẽ gỡ bài ở những kênh cho phép gỡ",
                     "{path}: retracted: {reason}; the next publishing pass removes it where the channel allows"),
    # channels
    "channels.disabled": ("{name} ({type}): đang tắt", "{name} ({type}): disabled"),
    "channels.ok": ("{name} ({type}): ỔN{expires}{identity}", "{name} ({type}): OK{expires}{identity}"),
    "channels.problem": ("{name} ({type}): CÓ VẤN ĐỀ{expires}{identity}", "{name} ({type}): PROBLEM{expires}{identity}"),
    "channels.expires": (", hết hạn {at}", ", expires {at}"),
    "channels.identity": (" với tài khoản {who}", " as {who}"),
    "channels.late": ("  CẢNH BÁO: {count} bài đã lên lịch sẽ đăng sau khi khóa truy cập hết hạn (bài đầu lúc {first}); hãy gia hạn trước đó",
                      "  WARNING: {count} scheduled post(s) would go out after the credential expires "
                      "(first at {first}); renew it before then"),
    # site rebuild
    "site.set-aside": ("{channel}: tệp danh mục cũ được giữ lại tại {path}", "{channel}: the old manifest is kept as {path}"),
    "site.written": ("{channel}: đã ghi lại {count} bài; kênh không còn bị tạm giữ",
                     "{channel}: {count} article(s) written again; the channel is no longer held"),
    "site.skipped": ("  không ghi (tệp bài không còn, còn lỗi loa check, hoặc đã gỡ): {post}",
                     "  not written (its file is gone, has a loa check error, or is retracted): {post}"),
    # report
    # backup and restore (pipeline/ledger/sqlite.py)
    "ledger.backup-exists": ("{path} đã có; bản sao lưu không bao giờ ghi đè một tệp: hãy chọn tên mới",
                             "{path} exists; a backup never overwrites a file: choose a new name"),
    "ledger.restore-self": ("{path} chính là sổ cái; hãy khôi phục từ một tệp sao lưu",
                            "{path} is the ledger itself; restore from a backup file"),
    "ledger.copy-missing": ("{path}: không có tệp này", "{path}: no such file"),
    "ledger.copy-damaged": ("{path} bị hỏng: PRAGMA integrity_check báo {found}",
                            "{path} is damaged: PRAGMA integrity_check says {found}"),
    "ledger.copy-not-loa": ("{path} không phải sổ cái của Loa (không có bảng schema_migrations)",
                            "{path} is not a Loa ledger (it has no schema_migrations table)"),
    "ledger.copy-unusable": ("{path} không phải sổ cái SQLite dùng được: {reason}",
                             "{path} is not a usable SQLite ledger: {reason}"),
    "report.unknown-format": ("không có định dạng {value}; dùng một trong: {choices}", "unknown format {value}; expected one of: {choices}"),
    "report.unknown-unit": ("không có đơn vị {value}; dùng một mã đơn vị trong config.toml (ví dụ {examples})",
                            "unknown unit {value}; expected one of the unit ids in config.toml (e.g. {examples})"),
    "report.unknown-period": ("không có kỳ báo cáo {value}; viết một trong các dạng NĂM-Q1…NĂM-Q4 (quý), NĂM-H1, NĂM-H2 (6 tháng), NĂM-9M (9 tháng), NĂM (cả năm) hoặc NĂM-THÁNG, ví dụ 2024-Q1, 2024-H1, 2024-9M, 2024, 2024-03",
                              "unknown period {value}; expected one of YYYY-Q1…YYYY-Q4, YYYY-H1, YYYY-H2, YYYY-9M, YYYY or YYYY-MM (e.g. 2024-Q1, 2024-H1, 2024-9M, 2024, 2024-03)"),
    "report.cannot-write": ("không ghi được báo cáo vào {path}: {reason}; hãy chọn một thư mục ghi được bằng --out",
                            "cannot write the report to {path}: {reason}; choose a folder you can write to with --out"),
    "report.bad-as-of": ("--as-of: không đọc được {value}; viết dạng \"2024-03-20 08:00\"", "--as-of: cannot read {value}; write \"2024-03-20 08:00\""),
    "report.empty": ("lưu ý: không có bài nào được đăng trong kỳ {period} ({first}–{last}); báo cáo sẽ ghi rõ điều này",
                     "note: no item was published in {period} ({first}–{last}); the report says so"),
    "report.narrative-heading": ("{file}, dòng {line}: tiêu đề «{heading}» không phải phần nào của báo cáo; dùng các tiêu đề: {sections}",
                                 "{file}, line {line}: the heading «{heading}» is not a section of the report; use the headings: {sections}"),
    "report.narrative-before-heading": ("{file}, dòng {line}: có nội dung trước tiêu đề đầu tiên; mỗi phần bắt đầu bằng một tiêu đề `## ` ({sections})",
                                        "{file}, line {line}: text before the first heading; each section starts with a `## ` heading ({sections})"),
    "report.narrative-unreadable": ("không đọc được tệp phần đánh giá {file}: {reason}", "cannot read the narrative file {file}: {reason}"),
    "report.narrative-too-big": ("tệp phần đánh giá {file} quá lớn ({size_kb} KB, tối đa {max_kb} KB)",
                                 "the narrative file {file} is too big ({size_kb} KB, at most {max_kb} KB)"),
    "report.narrative-not-utf8": ("tệp phần đánh giá {file} không phải UTF-8; hãy lưu lại tệp với bảng mã UTF-8 (hoặc chạy `loa check --fix`)",
                                  "the narrative file {file} is not UTF-8; save it as UTF-8"),
    "report.narrative-exists": ("{file} đã có; Loa không ghi đè phần đánh giá đã viết (thêm --force để thay bằng bản nháp mới)",
                                "{file} exists; Loa does not overwrite a written narrative (add --force to replace it with a new draft)"),
    "report.narrative-written": ("Đã viết bản nháp phần đánh giá: {file}; hãy sửa lại rồi chạy lại loa report",
                                 "Narrative draft written: {file}; edit it, then run loa report again"),
    "report.narrative-missing": ("lưu ý: chưa có phần đánh giá {file} (đánh giá chung, tồn tại, phương hướng, kiến nghị); `loa report --period {period} --draft-narrative` viết bản nháp",
                                 "note: no narrative {file} (assessment, shortcomings, plans, proposals) yet; `loa report --period {period} --draft-narrative` writes a draft"),
    "report.pdf-no-soffice": ("xuất PDF cần LibreOffice (lệnh soffice) nhưng máy này chưa có; cài bằng: sudo apt-get install -y libreoffice-writer (hoặc chọn --format docx)",
                              "PDF output needs LibreOffice (the soffice command), which is not installed; install it with: sudo apt-get install -y libreoffice-writer (or use --format docx)"),
    "report.format-not-written": ("báo cáo dạng {format} KHÔNG được ghi: {reason}", "the {format} report was NOT written: {reason}"),
    "report.pdf-failed": ("LibreOffice không chuyển được báo cáo sang PDF: {reason}", "LibreOffice could not convert the report to PDF: {reason}"),
    "help.report.draft-narrative": ("viết bản nháp phần đánh giá (narrative/<kỳ>.md) từ số liệu rồi dừng", "write a draft of the narrative (narrative/<period>.md) from the figures, then stop"),
    "report.force-without-draft": ("--force chỉ dùng cùng --draft-narrative (báo cáo không bao giờ bị ghi đè ngoài ý muốn)",
                                   "--force only goes with --draft-narrative"),
    "help.report.force": ("cùng --draft-narrative: ghi đè tệp phần đánh giá đã có", "with --draft-narrative: overwrite an existing narrative file"),
    # ingest
    "ingest.feed-error": ("{name}: lỗi: {message}", "{name}: error: {message}"),
    "ingest.not-modified": ("{name}: không có gì mới{why}", "{name}: not modified{why}"),
    "ingest.feed-ok": ("{name}: ổn, {done_vi} {n} bản nháp, {dup} tin trùng, {filtered} tin bị lọc",
                       "{name}: ok, {done_en} {n} {drafts_en}, {dup} {dups_en}, {filtered} filtered"),
    "ingest.warning": ("{name}: cảnh báo: {warning}", "{name}: warning: {warning}"),
    "ingest.no-feeds": ("config.toml chưa có [[feeds]] nào; không có gì để lấy", "no [[feeds]] in config.toml; nothing to ingest"),
    # preview
    "preview.summary": ("Xem trước: {index} ({rendered} bài tạo mới, {reused} bài không đổi, {failed} bài lỗi)",
                        "Preview: {index} ({rendered} rendered, {reused} unchanged, {failed} unusable)"),
    "preview.pages-lost": ("Xem trước: {n} trang đã tạo nhưng không ghi được (một tiến trình con đã dừng); hãy chạy lại",
                           "Preview: {n} rendered pages were not written (a worker process stopped); run it again"),
    "workers.lost": ("Một tiến trình con đã dừng giữa chừng (bị kết thúc hoặc hết bộ nhớ); hãy chạy lại",
                     "A worker process stopped midway (killed or out of memory); run it again"),
    # check / check --fix
    "check.severity.error": ("lỗi", "error"), "check.severity.warning": ("cảnh báo", "warning"),
    "check.summary": ("Đã kiểm tra {posts} bài: {errors} lỗi, {warnings} cảnh báo", "{posts} posts checked: {errors} errors, {warnings} warnings"),
    "fix.converted": ("{path}: đã chuyển từ bảng mã {encoding} sang UTF-8 (NFC)", "{path}: converted from {encoding} to UTF-8 (NFC)"),
    "fix.nfc": ("{path}: đã chuẩn hóa Unicode tổ hợp sang dựng sẵn (NFC)", "{path}: normalised to Unicode NFC"),
    "fix.count": ("Đã sửa {count} tệp.", "{count} file(s) fixed."),
    # loa log --format csv: the column headers
    "log.published": ("Thời điểm đăng", "published"), "log.channel": ("Kênh", "channel"), "log.state": ("Trạng thái", "state"),
    "log.unit": ("Đơn vị", "unit"), "log.type": ("Loại bài", "type"), "log.post_id": ("Mã bài", "post_id"),
    "log.title": ("Tiêu đề", "title"), "log.url": ("Địa chỉ", "url"),
}

#: Ledger states as loa log / loa resolve show them (pipeline.ledger.base.STATES).
STATES: dict[str, tuple[str, str]] = {
    "state.pending": ("chờ gửi", "pending"), "state.claimed": ("đang gửi", "claimed"),
    "state.published": ("đã đăng", "published"), "state.failed": ("lỗi", "failed"),
    "state.retrying": ("chờ thử lại", "retrying"), "state.skipped": ("bỏ qua", "skipped"),
    "state.in_doubt": ("chưa rõ", "in doubt"), "state.retracted": ("đã gỡ", "retracted"),
}

#: Why a post waits or is held (pipeline.plan decisions' ``reason``); ``{detail}`` is what follows
#: the code's colon ("paused: Quốc tang").
REASONS: dict[str, tuple[str, str]] = {
    "reason.action-create": ("đăng", "create"), "reason.action-update": ("cập nhật", "update"),
    "reason.action-retract": ("gỡ", "retract"), "reason.action-reconcile": ("đối soát", "reconcile"),
    "reason.feed-ok": ("ổn", "ok"), "reason.feed-error": ("lỗi", "error"),
    "reason.feed-not modified": ("không có gì mới", "not modified"),
    "reason.awaiting-approval": ("chờ Ban biên tập duyệt", "awaiting approval"),
    "reason.check-errors": ("bài còn lỗi (xem loa check); chưa gửi đi đâu cho đến khi sửa xong",
                            "the post has errors (see loa check); sent nowhere until they are fixed"),
    "reason.channel-disabled": ("kênh đang tắt", "channel disabled"),
    "reason.expired": ("đã hết hạn trước khi đăng", "expired before it was published"),
    "reason.no-publish-time": ("chưa có thời điểm đăng (publish_at)", "no publish time (publish_at)"),
    "reason.failed": ("gửi lỗi", "failed"),
    "reason.in_doubt": ("chưa rõ đã đăng hay chưa", "in doubt"),
    "reason.deleted": ("tệp bài đã bị xóa nhưng bài vẫn đang đăng", "the post's file is deleted but it is still published"),
    "reason.draft": ("bản nháp", "draft"),
    "reason.spacing": ("giãn cách giữa các bài", "spacing between posts"),
    "reason.retry": ("chờ thử lại", "waiting to retry"),
    "reason.vendor-wait": ("nhà cung cấp yêu cầu chờ (giới hạn tần suất)", "the vendor asked to wait (rate limit)"),
    "reason.rescheduled": ("đã bị bỏ qua vì quá hạn, nay được dời lịch nên đăng theo giờ mới",
                           "skipped as too late, now rescheduled: it goes out at the new time"),
    "reason.auth": ("kênh bị tạm giữ vì lỗi xác thực: {detail}", "channel held after an authentication failure: {detail}"),
    "reason.paused": ("tạm dừng: {detail}", "paused: {detail}"),
    "reason.blackout": ("khoảng ngừng đăng: {detail}", "blackout: {detail}"),
    "reason.retracted": ("đã gỡ", "retracted"),
    "reason.retracted-before-publishing": ("đã gỡ trước khi đăng", "retracted before it was published"),
    "reason.skipped": ("đã bỏ qua vì quá hạn", "skipped as too late"),
    "reason.content changed": ("nội dung đã sửa, sẽ cập nhật", "the content changed: it is updated"),
    "reason.retry after auth fix": ("thử lại sau khi đã sửa lỗi xác thực", "retried after the authentication was fixed"),
    "reason.content changed after a failure": ("nội dung đã sửa sau lần gửi lỗi, sẽ gửi lại",
                                               "the content changed after a failure: it is sent again"),
    "reason.claim expired without a result": ("lần gửi trước bị ngắt giữa chừng, chưa rõ kết quả; Loa kiểm tra lại trước khi gửi",
                                              "an earlier send stopped without a result; Loa checks before sending again"),
}

#: loa status's headings and labels.
STATUS: dict[str, tuple[str, str]] = {
    "status.stale": ("!! NỘI DUNG KHÔNG ĐƯỢC CẬP NHẬT TỪ {since} VÌ git pull lỗi: {reason}",
                     "!! content not updated since {since} because git pull fails: {reason}"),
    "status.hold": ("!! KÊNH {channel} BỊ TẠM GIỮ: {message}", "!! CHANNEL {channel} HELD: {message}"),
    "status.pause": ("Tạm dừng {channel}: {reason} ({by})", "Paused {channel}: {reason} ({by})"),
    "status.upcoming": ("Sắp đăng", "Upcoming"),
    "status.broadcast": ("{title} — {station}, buổi phát {slot}", "{title} — {station}, slot {slot}"),
    "status.broadcast-emergency": ("{title} — {station}, phát khẩn cấp", "{title} — {station}, emergency broadcast"),
    "status.broadcast-station": ("{title} — {station}", "{title} — {station}"),
    "status.due": ("Đến giờ, chờ lượt gửi", "Due now"),
    "status.held": ("Đang giữ lại", "Held"),
    "status.unusable": ("Tệp bài không đọc được (chưa gửi đi đâu)", "Post files that cannot be read (nothing sent)"),
    "status.failed": ("Lỗi cần xử lý", "Failed"),
    "status.retrying": ("Đang thử lại", "Retrying"),
    "status.in-doubt": ("Chưa rõ đã đăng chưa", "In doubt"),
    "status.feeds": ("Nguồn tin", "Feeds"),
    "status.vendor": ("Máy chủ trả lời", "Vendor said"),
    "status.hint": ("Cần làm", "What to do"),
    "status.when-fixed": ("Sau khi sửa", "When fixed"),
    "status.attempt": ("lần {attempts}, thử lại lúc {at}", "attempt {attempts}, next at {at}"),
}

MESSAGES: dict[str, tuple[str, str]] = {**HELP, **METAVARS, **ARGPARSE, **OUTPUT, **STATES, **REASONS, **STATUS}
