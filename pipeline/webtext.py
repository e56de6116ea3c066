"""The web console's words, Vietnamese and English, contributed to :mod:`pipeline.messages`
(``text("web.…", lang)``). A stage module so that the catalogue can load it without importing the
front end; every code starts with ``web.``."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "web.skip": ("Bỏ qua, đến nội dung chính", "Skip to the main content"),
    "web.nav": ("Trang", "Pages"),
    "web.nav.calendar": ("Lịch đăng", "Calendar"),
    "web.nav.approvals": ("Chờ duyệt", "Approvals"),
    "web.nav.ops": ("Vận hành", "Operations"),
    "web.nav.reports": ("Báo cáo", "Reports"),
    "web.nav.activities": ("Hoạt động", "Activities"),
    "web.nav.search": ("Tìm kiếm", "Search"),
    "web.signed-in-as": ("Đang đăng nhập: {name} ({role})", "Signed in as {name} ({role})"),
    "web.role.staff": ("cán bộ biên tập", "staff"),
    "web.role.board": ("ban biên tập", "editorial board"),
    "web.role.it": ("cán bộ CNTT", "IT officer"),
    "web.role.reports": ("Sở Nội vụ / báo cáo", "reports"),
    "web.logout": ("Đăng xuất", "Sign out"),
    "web.login.title": ("Đăng nhập", "Sign in"),
    "web.login.name": ("Tên đăng nhập", "Account name"),
    "web.login.password": ("Mật khẩu", "Password"),
    "web.login.submit": ("Đăng nhập", "Sign in"),
    "web.login.bad": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong account name or password."),
    "web.login.throttled": ("Đăng nhập sai quá nhiều lần. Hãy thử lại sau {minutes} phút hoặc nhờ cán bộ CNTT "
                            "đặt lại mật khẩu (`loa users reset`).",
                            "Too many failed sign-ins. Try again in {minutes} minutes or ask the IT officer to "
                            "reset the password (`loa users reset`)."),
    "web.login.signed-out": ("Bạn đã đăng xuất.", "You are signed out."),
    "web.forbidden.title": ("Không có quyền truy cập", "Not allowed"),
    "web.forbidden.body": ("Vai trò của bạn ({role}) không được xem trang này hoặc làm thao tác này.",
                           "Your role ({role}) may not see this page or do this."),
    "web.csrf.title": ("Biểu mẫu đã hết hạn", "The form has expired"),
    "web.csrf.body": ("Biểu mẫu này không hợp lệ hoặc đã cũ (mã chống giả mạo không khớp). Hãy tải lại trang rồi thử lại.",
                      "This form is not valid or is out of date (its anti-forgery token does not match). "
                      "Reload the page and try again."),
    "web.notfound.title": ("Không tìm thấy", "Not found"),
    "web.home.title": ("Bảng điều khiển Loa", "Loa console"),
    "web.home.body": ("Chọn một trang ở thanh điều hướng.", "Choose a page in the navigation."),
    "web.error.title": ("Có lỗi", "Something went wrong"),
    # loa users
    "users.password-prompt": ("Mật khẩu mới cho {name}: ", "New password for {name}: "),
    "users.password-again": ("Nhập lại mật khẩu: ", "Type the password again: "),
    "users.password-mismatch": ("hai lần nhập mật khẩu không khớp; chưa thay đổi gì",
                                "the two passwords differ; nothing was changed"),
    "users.name-needed": ("`loa users {action}` cần tên tài khoản", "`loa users {action}` needs an account name"),
    "users.role-needed": ("`loa users add` cần --role staff|board|it|reports", "`loa users add` needs --role staff|board|it|reports"),
    "users.enabled": ("đang dùng", "enabled"),
    "users.disabled": ("đã khóa", "disabled"),
    "users.done-add": ("Đã tạo tài khoản {name} ({role}, {full_name}).", "Account {name} ({role}, {full_name}) created."),
    "users.done-reset": ("Đã đặt lại mật khẩu của {name}; các phiên đăng nhập của tài khoản này đã kết thúc.",
                         "The password of {name} is reset; its signed-in sessions have ended."),
    "users.done-disable": ("Đã khóa tài khoản {name}; tài khoản mất quyền truy cập ngay từ yêu cầu tiếp theo.",
                           "Account {name} is disabled; it loses access at its next request."),
    "users.done-enable": ("Đã mở lại tài khoản {name}.", "Account {name} is enabled again."),
}
