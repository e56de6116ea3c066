"""The ``text.*`` messages of :mod:`pipeline.vietnamese` and the ``activity.*`` ones of
:mod:`pipeline.activities` (each re-exports its own as ``MESSAGES``), part of the one catalogue
(:mod:`pipeline.messages` merges them in). Kept apart from those modules so the catalogue, which
every command's ``--help`` and output loads, need not import the encoding and tone-mark tables or
PyYAML.
"""
from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "text.not-nfc": (
        "chữ có dấu ở dạng Unicode tổ hợp (dấu tách rời khỏi chữ): {words}; chạy `loa check --fix` để chuyển sang Unicode dựng sẵn (NFC)",
        "accented letters in decomposed Unicode (marks stored apart from letters): {words}; run `loa check --fix` to convert to precomposed Unicode (NFC)"),
    "text.tcvn3": (
        "chữ gõ bằng bảng mã cũ TCVN3 (ABC, phông .VnTime) nên hiển thị sai: {words}; chạy `loa check --fix` để chuyển sang Unicode dựng sẵn (NFC)",
        "text typed in the old TCVN3 (ABC, .VnTime font) encoding shows as garbage: {words}; run `loa check --fix` to convert it to Unicode (NFC)"),
    "text.vni": (
        "chữ gõ bằng bảng mã cũ VNI (phông VNI-Times) nên hiển thị sai: {words}; chạy `loa check --fix` để chuyển sang Unicode dựng sẵn (NFC)",
        "text typed in the old VNI encoding (VNI-Times font) shows as garbage: {words}; run `loa check --fix` to convert it to Unicode (NFC)"),
    "text.mojibake": (
        "chữ bị lỗi phông (chữ UTF-8 bị đọc nhầm bảng mã Windows-1252): {words}; chạy `loa check --fix` để khôi phục",
        "garbled letters (UTF-8 text read as Windows-1252): {words}; run `loa check --fix` to restore them"),
    "text.tone-mixed": (
        "dấu thanh không đặt theo cùng một kiểu: {words} khác kiểu “{style}” của bài; sửa tay cho thống nhất, hoặc chọn kiểu bỏ dấu trong cấu hình rồi chạy `loa check --fix` (câu trích dẫn trong ngoặc kép và tên riêng được giữ nguyên)",
        "tone marks are not placed in one style: {words} differ from the “{style}” style of the post; make them consistent by hand, or choose the tone style in the configuration and run `loa check --fix` (quotations and proper names are kept as written)"),
    "text.eth": (
        "dùng nhầm chữ Ð/ð (eth của tiếng Iceland) thay cho Đ/đ tiếng Việt: {words}; chạy `loa check --fix` để thay bằng Đ/đ",
        "the Icelandic letter Ð/ð (eth) is used instead of Vietnamese Đ/đ: {words}; run `loa check --fix` to replace it"),
    "text.not-utf8": (
        "tệp không lưu bằng Unicode UTF-8 mà bằng bảng mã {encoding}; chạy `loa check --fix` để chuyển sang UTF-8, Unicode dựng sẵn (NFC)",
        "the file is not saved as UTF-8 but in the {encoding} encoding; run `loa check --fix` to convert it to UTF-8, precomposed Unicode (NFC)"),
    "text.no-diacritics": (
        "tiêu đề hoặc tóm tắt viết không dấu: “{words}”; hãy gõ lại có dấu tiếng Việt (bộ gõ Unikey/EVKey, bảng mã Unicode)",
        "title or summary typed without Vietnamese diacritics: “{words}”; retype it with diacritics (Unikey/EVKey input method, Unicode charset)"),
}


ACTIVITY_MESSAGES: dict[str, tuple[str, str]] = {
    "activity.yaml": ("Tệp hoạt động không đọc được như YAML: {error}",
                      "Activity file is not valid YAML: {error}"),
    "activity.missing": ("Thiếu khóa bắt buộc \"{key}\" (cần có: date, unit, kind, count)",
                         "Missing required key \"{key}\" (required: date, unit, kind, count)"),
    "activity.kind": ("Loại hoạt động \"{value}\" không hợp lệ; chọn một trong: {expected}",
                      "Unknown activity kind \"{value}\"; expected one of: {expected}"),
    "activity.count": ("Số lượng phải là số nguyên dương, nhận được: {value}",
                       "count must be a positive whole number, got: {value}"),
    "activity.unit": ("Đơn vị \"{value}\" không có trong config.toml",
                      "Unit \"{value}\" is not in config.toml"),
    "activity.date": ("Ngày \"{value}\" không hợp lệ; cần dạng YYYY-MM-DD, ví dụ 2024-03-15",
                      "Invalid date \"{value}\"; expected YYYY-MM-DD, e.g. 2024-03-15"),
}
