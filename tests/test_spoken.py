"""The loudspeaker script (issue 20, text part): numbers, dates, times, money, phone numbers,
ordinals, Roman numerals, units, document numbers and abbreviations as a Vietnamese announcer
reads them; Markdown as sentences; the reading time. Each expected line was written by hand from
Vietnamese usage (docs/loudspeaker.md, "Script"), not copied from the code's output."""

import re
import subprocess
import shutil
import wave
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from pipeline import spoken_numbers as sn
from pipeline.spoken import (DEFAULT_GLOSSARY, WORDS_PER_MINUTE, SpokenOptions, normalise,
                             reading_seconds, script_of)

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = SpokenOptions(glossary=DEFAULT_GLOSSARY)
Y2024 = "hai nghìn không trăm hai mươi tư"

CASES = [
    # -- whole numbers: mười/mươi, mốt, tư, lăm, linh, không trăm, nghìn/triệu/tỷ
    ("0", "không"),
    ("1", "một"),
    ("5", "năm"),
    ("10", "mười"),
    ("11", "mười một"),
    ("14", "mười bốn"),
    ("15", "mười lăm"),
    ("19", "mười chín"),
    ("20", "hai mươi"),
    ("21", "hai mươi mốt"),
    ("24", "hai mươi tư"),
    ("25", "hai mươi lăm"),
    ("30", "ba mươi"),
    ("31", "ba mươi mốt"),
    ("44", "bốn mươi tư"),
    ("45", "bốn mươi lăm"),
    ("55", "năm mươi lăm"),
    ("99", "chín mươi chín"),
    ("100", "một trăm"),
    ("101", "một trăm linh một"),
    ("104", "một trăm linh bốn"),
    ("105", "một trăm linh năm"),
    ("110", "một trăm mười"),
    ("111", "một trăm mười một"),
    ("115", "một trăm mười lăm"),
    ("121", "một trăm hai mươi mốt"),
    ("124", "một trăm hai mươi tư"),
    ("200", "hai trăm"),
    ("999", "chín trăm chín mươi chín"),
    ("1000", "một nghìn"),
    ("1001", "một nghìn không trăm linh một"),
    ("1005", "một nghìn không trăm linh năm"),
    ("1010", "một nghìn không trăm mười"),
    ("1015", "một nghìn không trăm mười lăm"),
    ("1050", "một nghìn không trăm năm mươi"),
    ("1100", "một nghìn một trăm"),
    ("2019", "hai nghìn không trăm mười chín"),
    ("2024", Y2024),
    ("10000", "mười nghìn"),
    # -- thousands separated by dots
    ("8.000", "tám nghìn"),
    ("15.000", "mười lăm nghìn"),
    ("21.000", "hai mươi mốt nghìn"),
    ("100.000", "một trăm nghìn"),
    ("105.000", "một trăm linh năm nghìn"),
    ("1.000.000", "một triệu"),
    ("1.000.005", "một triệu không trăm linh năm"),
    ("1.500.000", "một triệu năm trăm nghìn"),
    ("1.234.567", "một triệu hai trăm ba mươi tư nghìn năm trăm sáu mươi bảy"),
    ("2.000.000.000", "hai tỷ"),
    ("1.005.000.000", "một tỷ không trăm linh năm triệu"),
    ("Có 1.234 hồ sơ.", "Có một nghìn hai trăm ba mươi tư hồ sơ."),
    ("Có 21 hồ sơ trực tuyến.", "Có hai mươi mốt hồ sơ trực tuyến."),
    ("trong 02 ngày làm việc", "trong hai ngày làm việc"),
    ("1, 2, 3", "một, hai, ba"),
    ("Phường 2", "Phường hai"),
    ("Điều 5", "Điều năm"),
    # -- decimals with a comma
    ("2,5", "hai phẩy năm"),
    ("0,5", "không phẩy năm"),
    ("98,5", "chín mươi tám phẩy năm"),
    ("98,75", "chín mươi tám phẩy bảy mươi lăm"),
    ("0,05", "không phẩy không năm"),
    ("1.234,5", "một nghìn hai trăm ba mươi tư phẩy năm"),
    ("mục 2.1", "mục hai chấm một"),
    # -- dates
    ("15/3/2024", f"ngày mười lăm tháng ba năm {Y2024}"),
    ("ngày 15/3/2024", f"ngày mười lăm tháng ba năm {Y2024}"),
    ("Ngày 15/3/2024", f"Ngày mười lăm tháng ba năm {Y2024}"),
    ("15-3-2024", f"ngày mười lăm tháng ba năm {Y2024}"),
    ("15.3.2024", f"ngày mười lăm tháng ba năm {Y2024}"),
    ("2024-03-15", f"ngày mười lăm tháng ba năm {Y2024}"),
    ("05/3/2020", "ngày năm tháng ba năm hai nghìn không trăm hai mươi"),
    ("01/01/2025", "ngày một tháng một năm hai nghìn không trăm hai mươi lăm"),
    ("30/4/1975", "ngày ba mươi tháng tư năm một nghìn chín trăm bảy mươi lăm"),
    ("21/12/2024", f"ngày hai mươi mốt tháng mười hai năm {Y2024}"),
    ("24/11/2023", "ngày hai mươi tư tháng mười một năm hai nghìn không trăm hai mươi ba"),
    ("ngày 19/10", "ngày mười chín tháng mười"),
    ("ngày 1/6", "ngày một tháng sáu"),
    ("tháng 4", "tháng tư"),
    ("tháng 1", "tháng một"),
    ("tháng 11", "tháng mười một"),
    ("tháng 12", "tháng mười hai"),
    ("tháng 3/2024", f"tháng ba năm {Y2024}"),
    ("Tháng 4/2024", f"Tháng tư năm {Y2024}"),
    ("số liệu 6/2024", f"số liệu tháng sáu năm {Y2024}"),
    ("năm 2024", f"năm {Y2024}"),
    ("ngày 05 tháng 01 năm 2024", f"ngày năm tháng một năm {Y2024}"),
    ("ngày 30 tháng 4", "ngày ba mươi tháng tư"),
    ("phục vụ 24/24 giờ", "phục vụ hai mươi tư trên hai mươi tư giờ"),
    ("đạt 15/20 chỉ tiêu", "đạt mười lăm trên hai mươi chỉ tiêu"),
    # -- times
    ("7h30", "bảy giờ ba mươi phút"),
    ("7h", "bảy giờ"),
    ("7h00", "bảy giờ"),
    ("17h30", "mười bảy giờ ba mươi phút"),
    ("07:30", "bảy giờ ba mươi phút"),
    ("17:05", "mười bảy giờ năm phút"),
    ("17 giờ 30", "mười bảy giờ ba mươi phút"),
    ("17 giờ 30 phút", "mười bảy giờ ba mươi phút"),
    ("8 giờ", "tám giờ"),
    ("11h15", "mười một giờ mười lăm phút"),
    ("21h45", "hai mươi mốt giờ bốn mươi lăm phút"),
    ("lúc 14h ngày 15/3/2024", f"lúc mười bốn giờ ngày mười lăm tháng ba năm {Y2024}"),
    ("sáng từ 7h30 đến 11h30", "sáng từ bảy giờ ba mươi phút đến mười một giờ ba mươi phút"),
    # -- ranges
    ("8-10 giờ", "tám đến mười giờ"),
    ("từ 8 - 10 giờ", "từ tám đến mười giờ"),
    ("7h30-11h30", "bảy giờ ba mươi phút đến mười một giờ ba mươi phút"),
    ("13h30–17h", "mười ba giờ ba mươi phút đến mười bảy giờ"),
    ("15/01-14/02", "ngày mười lăm tháng một đến ngày mười bốn tháng hai"),
    ("từ ngày 15/01 đến ngày 14/02", "từ ngày mười lăm tháng một đến ngày mười bốn tháng hai"),
    ("10-15%", "mười đến mười lăm phần trăm"),
    ("5-7 ngày", "năm đến bảy ngày"),
    ("từ thứ 2 - thứ 6", "từ thứ hai đến thứ sáu"),
    ("nhiệm kỳ 2021-2026", "nhiệm kỳ hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi sáu"),
    # -- percentages
    ("95%", "chín mươi lăm phần trăm"),
    ("2,5%", "hai phẩy năm phần trăm"),
    ("100%", "một trăm phần trăm"),
    ("98,5 %", "chín mươi tám phẩy năm phần trăm"),
    ("đạt 100% hồ sơ", "đạt một trăm phần trăm hồ sơ"),
    # -- money
    ("8.000 đồng", "tám nghìn đồng"),
    ("8.000đ", "tám nghìn đồng"),
    ("8.000 đ", "tám nghìn đồng"),
    ("8.000 VNĐ", "tám nghìn đồng"),
    ("50.000 VND", "năm mươi nghìn đồng"),
    ("25.000₫", "hai mươi lăm nghìn đồng"),
    ("1,5 triệu đồng", "một phẩy năm triệu đồng"),
    ("15 triệu đồng", "mười lăm triệu đồng"),
    ("200.000 đồng/bản", "hai trăm nghìn đồng một bản"),
    ("2.000đ/trang", "hai nghìn đồng một trang"),
    ("1.000.000đ", "một triệu đồng"),
    ("Phí: 8.000 đồng.", "Phí: tám nghìn đồng."),
    # -- phone numbers, digit by digit, groups as written
    ("hotline 1022", "hotline một không hai hai"),
    ("Đường dây nóng: 1022", "Đường dây nóng: một không hai hai"),
    ("gọi 113", "gọi một một ba"),
    ("0254 3852 123", "không hai năm bốn, ba tám năm hai, một hai ba"),
    ("0254.3852.123", "không hai năm bốn, ba tám năm hai, một hai ba"),
    ("1900 1234", "một chín không không, một hai ba bốn"),
    ("1800 1234", "một tám không không, một hai ba bốn"),
    ("0912345678", "không chín một hai ba bốn năm sáu bảy tám"),
    ("0912 345 678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("ĐT: 0254 3852 123", "Điện thoại: không hai năm bốn, ba tám năm hai, một hai ba"),
    ("Tổng đài 1900 9090", "Tổng đài một chín không không, chín không chín không"),
    ("điện thoại số 02543852123", "điện thoại số không hai năm bốn ba tám năm hai một hai ba"),
    ("gọi 3 lần", "gọi ba lần"),
    # -- ordinals
    ("thứ 1", "thứ nhất"),
    ("thứ 2", "thứ hai"),
    ("thứ 4", "thứ tư"),
    ("thứ 7", "thứ bảy"),
    ("Thứ 4", "Thứ tư"),
    ("lần thứ 2", "lần thứ hai"),
    ("lần thứ 4", "lần thứ tư"),
    ("lần thứ 14", "lần thứ mười bốn"),
    ("kỳ họp thứ 10", "kỳ họp thứ mười"),
    ("hạng 1", "hạng nhất"),
    ("từ trang thứ 3 trở đi", "từ trang thứ ba trở đi"),
    # -- Roman numerals, only after the words that take them
    ("quý I", "quý một"),
    ("quý II", "quý hai"),
    ("quý III", "quý ba"),
    ("quý IV", "quý bốn"),
    ("quý I/2024", f"quý một năm {Y2024}"),
    ("quý 1/2024", f"quý một năm {Y2024}"),
    ("Quý IV năm 2023", "Quý bốn năm hai nghìn không trăm hai mươi ba"),
    ("khóa XV", "khóa mười lăm"),
    ("khoá XIV", "khoá mười bốn"),
    ("lần thứ III", "lần thứ ba"),
    ("lần thứ IV", "lần thứ tư"),
    ("lần thứ I", "lần thứ nhất"),
    ("Đại hội XIII", "Đại hội mười ba"),
    ("thế kỷ XXI", "thế kỷ hai mươi mốt"),
    ("Chương II", "Chương hai"),
    ("Phụ lục I", "Phụ lục một"),
    ("học kỳ I", "học kỳ một"),
    ("Mục C", "Mục C"),
    ("I love Vũng Tàu", "I love Vũng Tàu"),
    ("Vitamin C và D", "Vitamin C và D"),
    ("quý IIII", "quý IIII"),
    # -- abbreviations from the glossary
    ("UBND phường", "Ủy ban nhân dân phường"),
    ("HĐND thành phố", "Hội đồng nhân dân thành phố"),
    ("Công tác CCHC", "Công tác cải cách hành chính"),
    ("CCHC là nhiệm vụ", "Cải cách hành chính là nhiệm vụ"),
    ("nộp TTHC qua DVC", "nộp thủ tục hành chính qua dịch vụ công"),
    ("đội ngũ CBCCVC", "đội ngũ cán bộ, công chức, viên chức"),
    ("tài khoản VNeID", "tài khoản Vê-en-e-ai-đi"),
    ("VNeID mức 2", "Vê-en-e-ai-đi mức hai"),
    ("mã OTP và mã QR", "mã ô-tê-pê và mã kiu-a"),
    ("gọi 10 1-1 km", "gọi mười một đến một ki-lô-mét"),  # hypothesis found: a phone number is not half a range
    ("thẻ CCCD", "thẻ căn cước công dân"),
    ("Sở TT&TT", "Sở Thông tin và Truyền thông"),
    ("Sở GD&ĐT", "Sở Giáo dục và Đào tạo"),
    ("V/v cấp giấy", "Về việc cấp giấy"),
    ("Kế hoạch cải cách hành chính (CCHC) năm 2024", f"Kế hoạch cải cách hành chính năm {Y2024}"),
    ("Chỉ số CCHC (PAR INDEX) và Chỉ số hài lòng (SIPAS)", "Chỉ số cải cách hành chính và Chỉ số hài lòng (SIPAS)"),
    ("Sở KH&ĐT", "Sở Kế hoạch và Đầu tư"),
    ("Công ty CP Cấp nước", "Công ty CP Cấp nước"),
    ("Nghị quyết 1234/NQ-UBTVQH14", "Nghị quyết một nghìn hai trăm ba mươi tư của Ủy ban Thường vụ Quốc hội khóa mười bốn"),
    ("UBNDX", "UBNDX"),
    ("ubnd", "ubnd"),
    # -- units
    ("5 km", "năm ki-lô-mét"),
    ("5km", "năm ki-lô-mét"),
    ("100 m²", "một trăm mét vuông"),
    ("100m2", "một trăm mét vuông"),
    ("2 ha", "hai héc-ta"),
    ("50 kg", "năm mươi ki-lô-gam"),
    ("2,5 m", "hai phẩy năm mét"),
    ("60 km/h", "sáu mươi ki-lô-mét một giờ"),
    ("3 m³", "ba mét khối"),
    ("30°C", "ba mươi độ xê"),
    ("giá mỗi m²", "giá mỗi mét vuông"),
    ("ha ha", "ha ha"),
    # -- document numbers: number, year, issuer (the kind letters are already said)
    ("Nghị định số 09/2019/NĐ-CP", "Nghị định số chín năm hai nghìn không trăm mười chín của Chính phủ"),
    ("Quyết định số 45/2016/QĐ-TTg", "Quyết định số bốn mươi lăm năm hai nghìn không trăm mười sáu của Thủ tướng Chính phủ"),
    ("Thông tư số 226/2016/TT-BTC", "Thông tư số hai trăm hai mươi sáu năm hai nghìn không trăm mười sáu của Bộ Tài chính"),
    ("Thông tư 39/2020/TT-BTTTT", "Thông tư ba mươi chín năm hai nghìn không trăm hai mươi của Bộ Thông tin và Truyền thông"),
    ("Nghị định 15/CP", "Nghị định mười lăm của Chính phủ"),
    ("Số: 05/BC-UBND", "Số: năm của Ủy ban nhân dân"),
    ("Luật số 148/2025/QH15", "Luật số một trăm bốn mươi tám năm hai nghìn không trăm hai mươi lăm của Quốc hội khóa mười lăm"),
    ("Công văn 581/BNV-CCHC", "Công văn năm trăm tám mươi mốt của Bộ Nội vụ"),
    ("Chỉ thị 05/CT-TTg", "Chỉ thị năm của Thủ tướng Chính phủ"),
    ("Nghị định 30/2020/NĐ-CP ngày 05/3/2020", "Nghị định ba mươi năm hai nghìn không trăm hai mươi của Chính phủ ngày năm tháng ba năm hai nghìn không trăm hai mươi"),
    ("Nghị định số 63/2024/NĐ-CP của Chính phủ", "Nghị định số sáu mươi ba năm hai nghìn không trăm hai mươi tư của Chính phủ"),
    ("Quyết định số 45/2016/QĐ-TTg ngày 19/10/2016 của Thủ tướng Chính phủ về việc",
     "Quyết định số bốn mươi lăm năm hai nghìn không trăm mười sáu ngày mười chín tháng mười năm hai nghìn không trăm mười sáu của Thủ tướng Chính phủ về việc"),
    # -- addresses on the web, e-mail
    ("trang dichvucong.gov.vn", "trang dichvucong chấm gờ o vê chấm vê en"),
    ("thư motcua@vungtau.gov.vn", "thư motcua a còng vungtau chấm gờ o vê chấm vê en"),
    ("Xem https://dichvucong.gov.vn/p/home.", "Xem Cổng thông tin điện tử của thành phố."),
    # -- ordinary words and words with digits are left alone
    ("Người dân có thể nộp hồ sơ trực tuyến.", "Người dân có thể nộp hồ sơ trực tuyến."),
    ("mạng 4G", "mạng 4G"),
    ("dịch COVID-19", "dịch COVID-19"),
    ("cúm H5N1", "cúm H5N1"),
    ("bằng lái hạng A1", "bằng lái hạng A1"),
    ("Bộ phận Một cửa", "Bộ phận Một cửa"),
    ("thứ Hai", "thứ Hai"),
    ("Thành phố Hồ Chí Minh", "Thành phố Hồ Chí Minh"),
    ("và/hoặc", "và hoặc"),
    ("Vũng Tàu - 2024", f"Vũng Tàu, {Y2024}"),
]


def test_the_table_is_large_enough():
    assert len(CASES) >= 150 and len({i for i, _ in CASES}) == len(CASES)


@pytest.mark.parametrize("written, said", CASES, ids=[c[0] for c in CASES])
def test_normalise(written, said):
    assert normalise(written, OPTIONS) == said
    assert normalise(said, OPTIONS) == said  # what is already said stays so


@pytest.mark.parametrize("written, said", [
    ("105", "một trăm lẻ năm"),
    ("101", "một trăm lẻ một"),
    ("1005", "một nghìn không trăm lẻ năm"),
    ("8.005 đồng", "tám nghìn không trăm lẻ năm đồng"),
    ("ngày 5/3/2005", "ngày năm tháng ba năm hai nghìn không trăm lẻ năm"),
])
def test_le_instead_of_linh(written, said):
    assert normalise(written, SpokenOptions(glossary=DEFAULT_GLOSSARY, hundred_zero="lẻ")) == said


def test_the_glossary_is_the_configs():
    mine = {**DEFAULT_GLOSSARY, "UBND": "U bê en đê", "KP": "khu phố"}
    said = normalise("UBND KP 3 và CCHC", SpokenOptions(glossary=mine))
    assert said == "U bê en đê khu phố ba và cải cách hành chính"
    assert normalise("UBND", SpokenOptions(glossary={})) == "UBND"


def test_options_refuse_an_unknown_zero_word():
    with pytest.raises(ValueError, match="hundred_zero"):
        SpokenOptions(glossary={}, hundred_zero="le")


def test_control_characters_and_decomposed_text():
    decomposed = "Ngày 15/3/2024 ta\u0300i\u202e"  # NFD "tài" and a right-to-left override
    assert normalise(decomposed, OPTIONS) == f"Ngày mười lăm tháng ba năm {Y2024} tài"


def test_number_words_round_the_scales():
    assert sn.number_words(1_000_000_000_000) == "một nghìn tỷ"
    assert sn.number_words(2_000_001) == "hai triệu không trăm linh một"
    with pytest.raises(ValueError):
        sn.number_words(-1)
    assert [sn.roman_value(r) for r in ("I", "IV", "XIV", "MCMXC", "IIII", "VX", "i", "")] == \
        [1, 4, 14, 1990, None, None, None, None]


# -- properties ---------------------------------------------------------------------------------

def _dotted(n: int) -> str:
    return f"{n:,}".replace(",", ".")


_NUMBERS = st.one_of(
    st.integers(0, 10**12).map(str).filter(lambda s: len(s) <= 2 or not s.startswith("0")),
    st.integers(1000, 10**12).map(_dotted),
    st.tuples(st.integers(0, 99999), st.integers(0, 999)).map(lambda t: f"{_dotted(t[0])},{t[1]}"),
    st.tuples(st.integers(1, 28), st.integers(1, 12), st.integers(1900, 2100)).map(lambda t: "%d/%d/%d" % t),
    st.tuples(st.integers(1, 28), st.integers(1, 12)).map(lambda t: "ngày %02d/%02d" % t),
    st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: "%dh%02d" % t),
    st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: "%02d:%02d" % t),
    st.integers(0, 100).map(lambda n: f"{n}%"),
    st.integers(1, 10**9).map(lambda n: f"{_dotted(n)}đ"),
    st.integers(1, 10**9).map(lambda n: f"{_dotted(n)} đồng"),
    st.from_regex(r"0[1-9]\d{2} \d{4} \d{3}", fullmatch=True),
    st.from_regex(r"0[1-9]\d{8}", fullmatch=True),
    st.integers(1, 12).map(lambda n: f"tháng {n}"),
    st.integers(1, 30).map(lambda n: f"lần thứ {n}"),
    st.integers(1, 3999).map(lambda n: f"khóa {sn.to_roman(n)}"),
    st.tuples(st.integers(1, 99), st.integers(1990, 2030)).map(lambda t: "số %02d/%d/NĐ-CP" % t),
    st.tuples(st.integers(1, 20), st.integers(1, 20)).map(lambda t: "%d-%d km" % t),
    st.tuples(st.integers(0, 23), st.integers(0, 23)).map(lambda t: "%dh-%dh" % t),
    st.tuples(st.integers(0, 99), st.integers(1, 99)).map(lambda t: "%d,5-%d%%" % t),
    st.integers(1, 4).map(lambda n: f"quý {sn.to_roman(n)}/2024"),
    st.from_regex(r"(hotline|gọi|Tổng đài) 1[0-9]{2,3}", fullmatch=True),
)
_WORDS = st.sampled_from(["", "Phí ", "hạn ", "UBND phường ", "gọi ", "từ ", "có ", "(", "khoảng "])
_ENDS = st.sampled_from(["", ".", ",", " hồ sơ", " người dân.", ";", ")"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_WORDS, _NUMBERS, _ENDS), min_size=1, max_size=4), st.sampled_from(sn.HUNDRED_ZERO))
def test_no_digit_is_left_and_normalise_is_idempotent(parts, zero):
    options = SpokenOptions(glossary=DEFAULT_GLOSSARY, hundred_zero=zero)
    text = " ".join(w + n + e for w, n, e in parts)
    said = normalise(text, options)
    assert not re.search(r"[0-9]", said), (text, said)
    assert normalise(said, options) == said


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs", "S")), max_size=80))
def test_any_text_is_idempotent(text):
    said = normalise(text, OPTIONS)
    assert normalise(said, OPTIONS) == said


# -- script_of ------------------------------------------------------------------------------------
POINTER = "Chi tiết xem tại Cổng thông tin điện tử của thành phố."


def paragraphs(body: str, title: str = "Tiêu đề", options: SpokenOptions = OPTIONS) -> list[str]:
    return script_of(body, title, options).split("\n\n")


def test_numbered_steps_are_read_as_steps():
    body = "Các bước:\n\n1. Đăng nhập\n2. Chọn thủ tục;\n3. Nộp hồ sơ trước 17h."
    assert paragraphs(body) == ["Tiêu đề.", "Các bước.", "Bước một, Đăng nhập.", "Bước hai, Chọn thủ tục.",
                                "Bước ba, Nộp hồ sơ trước mười bảy giờ."]


def test_steps_start_from_the_authors_number_and_nested_lists_are_sentences():
    body = "4. Chọn thủ tục\n    1. Hộ tịch\n    2. Cư trú\n5. Nộp\n"
    assert paragraphs(body, "") == ["Bước bốn, Chọn thủ tục.", "Hộ tịch.", "Cư trú.", "Bước năm, Nộp."]


def test_bullets_and_headings_become_sentences():
    body = "## Lưu ý\n\n- Mang theo CCCD\n- Nộp phí 8.000đ;\n\n### Hỏi đáp?\n\nXong!"
    assert paragraphs(body, "") == ["Lưu ý.", "Mang theo căn cước công dân.", "Nộp phí tám nghìn đồng.",
                                    "Hỏi đáp?", "Xong!"]


def test_a_two_column_table_reads_label_value():
    body = "| Khoản | Số tiền |\n| --- | --- |\n| Phí | 8.000 đồng |\n| Lệ phí | 2,5 triệu đồng |\n"
    assert paragraphs(body, "") == ["Khoản: Số tiền.", "Phí: tám nghìn đồng.", "Lệ phí: hai phẩy năm triệu đồng."]


def test_a_wide_table_reads_one_sentence_a_header():
    body = ("| Thủ tục | Phí | Thời hạn |\n| --- | --- | --- |\n"
            "| Chứng thực chữ ký | 10.000 đồng/trường hợp | 1 ngày |\n| Khai sinh | Miễn phí | |\n")
    assert paragraphs(body, "") == [
        "Chứng thực chữ ký. Phí: mười nghìn đồng một trường hợp. Thời hạn: một ngày.",
        "Khai sinh. Phí: Miễn phí."]
    asked = "| Cách | Có phải đến cơ quan? | Ghi chú |\n| --- | --- | --- |\n| Toàn trình | Không | |\n"
    assert paragraphs(asked, "") == ["Toàn trình. Có phải đến cơ quan? Không."]


def test_links_keep_their_text_and_the_block_points_to_the_portal():
    body = ("Xem [hướng dẫn](../guide/a.md) và [trang này](https://dichvucong.gov.vn/p/home).\n\n"
            "Đoạn sau không có liên kết.\n\n1. Bước [một](a.md)\n2. Bước [hai](b.md)\n")
    assert paragraphs(body, "") == [
        "Xem hướng dẫn và trang này.", POINTER, "Đoạn sau không có liên kết.",
        "Bước một, Bước một.", "Bước hai, Bước hai.", POINTER]
    portal = SpokenOptions(glossary={}, portal_name="Cổng thông tin điện tử phường 5")
    assert paragraphs("[a](b)", "", portal) == ["a.", "Chi tiết xem tại Cổng thông tin điện tử phường năm."]
    assert paragraphs("[a](b)", "", SpokenOptions(glossary={}, portal_name=" ")) == ["a.", POINTER]
    odd = SpokenOptions(glossary={}, portal_name=r"Cổng \g<x> \n")
    assert normalise("Xem https://a.vn/x", odd) == r"Xem Cổng \g<x> \n"


def test_a_bare_address_becomes_the_portals_name():
    assert paragraphs("Tra cứu tại <https://dichvucong.gov.vn/tra-cuu>.", "") == [
        "Tra cứu tại Cổng thông tin điện tử của thành phố.", POINTER]


def test_no_image_code_or_markup_is_read():
    body = ("# **Đậm** và _nghiêng_\n\n![Ảnh minh họa mã QR](images/qr.png)\n\n"
            "Chữ `mã` và <span>HTML</span> &amp; ký tự.\n\n```\nprint(1)\n```\n\n"
            "<script>alert(1)</script>\n\n> Trích dẫn\n\n---\n\nHết.")
    said = script_of(body, "", OPTIONS)
    assert said.split("\n\n") == ["Đậm và nghiêng.", "Chữ mã và HTML và ký tự.", "Trích dẫn.", "Hết."]
    assert not re.search(r"[*_`#<>\[\]|!]|http|print|alert|Ảnh", said)


def test_the_title_is_read_first_and_normalised():
    assert paragraphs("Nội dung.", "UBND phường 5 thông báo lịch 15/3") == [
        "Ủy ban nhân dân phường năm thông báo lịch ngày mười lăm tháng ba.", "Nội dung."]


def test_the_link_marker_in_a_post_is_not_a_link():
    assert paragraphs("Chữ\ue000 thường.", "") == ["Chữ thường."]


GUIDES = sorted((ROOT / "content/guide/2024").glob("*.md"))


def guide_script(path: Path) -> str:
    from pipeline.frontmatter import read_front_matter, split_front_matter

    raw = split_front_matter(path.read_text(encoding="utf-8"))
    front, _lines, _error = read_front_matter(raw.front)
    return script_of(raw.body, front["title"], OPTIONS)


@pytest.mark.parametrize("path", GUIDES, ids=[p.stem for p in GUIDES])
def test_the_sample_guides_read_aloud(path):
    said = guide_script(path)
    assert said.startswith("Hướng dẫn") and "Bước một, " in said
    assert not re.search(r"[0-9*_`#<>\[\]|]|https?:|\.md\b|\bUBND\b|\bVNeID\b|\bTTHC\b", said), said
    assert all(p.endswith((".", "?", "!", "…")) for p in said.split("\n\n"))


# -- reading time ---------------------------------------------------------------------------------
def test_reading_seconds_counts_words_at_the_rate():
    assert reading_seconds("") == 0.0
    words = " ".join(["một"] * WORDS_PER_MINUTE)
    assert reading_seconds(words) == pytest.approx(60.0)
    assert reading_seconds(words, words_per_minute=WORDS_PER_MINUTE // 2) == pytest.approx(120.0)
    assert reading_seconds("Hai câu. Ba câu!", words_per_minute=60, pause_seconds=0.5) == pytest.approx(5.0)
    assert reading_seconds("Ủy ban nhân dân, cải cách hành chính.", words_per_minute=60) == pytest.approx(8.0)
    with pytest.raises(ValueError):
        reading_seconds("một", words_per_minute=0)


def test_vneid_is_one_name_of_five_syllables():
    """VNeID is said as one name (Vê-en-e-ai-đi), five syllables for the reading time; eSpeak NG
    says it as one word, with no pause between the letters as it makes between words."""
    said = normalise("Cài ứng dụng VNeID trên điện thoại.", OPTIONS)
    assert said == "Cài ứng dụng Vê-en-e-ai-đi trên điện thoại."
    assert reading_seconds("Vê-en-e-ai-đi", words_per_minute=60) == pytest.approx(5.0)
    if shutil.which("espeak-ng"):
        def phonemes(t):
            return subprocess.run(["espeak-ng", "-v", "vi", "-q", "-x", t], capture_output=True, text=True,
                                  timeout=30, check=True).stdout.strip()
        assert phonemes("Vê-en-e-ai-đi").count("_") < phonemes("Vê en e ai đi").count("_")


def test_the_rate_is_espeak_ngs_on_the_sample_guides(tmp_path):
    """The evidence for WORDS_PER_MINUTE: eSpeak NG's Vietnamese voice at its default speed reads
    each sample guide's script within 10 % of the estimate (the channel's test allows 20 %)."""
    from tests.conftest import service_missing

    if not shutil.which("espeak-ng"):
        service_missing("espeak-ng is not installed (apt-get install espeak-ng)")
    for path in GUIDES:
        script = tmp_path / f"{path.stem}.txt"
        script.write_text(guide_script(path), encoding="utf-8")
        audio = tmp_path / f"{path.stem}.wav"
        subprocess.run(["espeak-ng", "-v", "vi", "-w", str(audio), "-f", str(script)], check=True, timeout=60)
        with wave.open(str(audio)) as w:
            seconds = w.getnframes() / w.getframerate()
        estimate = reading_seconds(script.read_text(encoding="utf-8"))
        assert abs(seconds - estimate) <= 0.10 * seconds, (path.stem, seconds, estimate)
