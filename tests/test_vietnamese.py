"""Vietnamese text quality: legacy encodings, mojibake, NFC, tone style, eth, messages.

Reference strings come from vietnam.md §4.2 (real government documents and the sample table).
"""
from __future__ import annotations

import string
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline import legacy_tables as lt
from pipeline import vietnamese as vn

SHY = "\u00ad"
NBSP = "\u00a0"

# vietnam.md §4.2 sample table: Unicode | TCVN3 as cp1252 | VNI as cp1252 | VIQR | UTF-8 as cp1252
SAMPLES = [
    ("cải cách hành chính", "c¶i c¸ch hµnh chÝnh", "caûi caùch haønh chính",
     "ca?i ca'ch ha`nh chi'nh", f"cáº£i cÃ¡ch hÃ{NBSP}nh chÃ{SHY}nh"),
    ("Cổng thông tin điện tử", "Cæng th«ng tin ®iÖn tö", "Coång thoâng tin ñieän töû",
     "Co^?ng tho^ng tin ddie^.n tu+?", f"Cá»•ng thÃ´ng tin Ä‘iá»‡n tá»{SHY}"),
    ("dịch vụ công trực tuyến", "dÞch vô c«ng trùc tuyÕn", "dòch vuï coâng tröïc tuyeán",
     "di.ch vu. co^ng tru+.c tuye^'n", "dá»‹ch vá»¥ cÃ´ng trá»±c tuyáº¿n"),
    ("Phòng Nội vụ", "Phßng Néi vô", "Phoøng Noäi vuï", "Pho`ng No^.i vu.", "PhÃ²ng Ná»™i vá»¥"),
    ("Hướng dẫn nộp hồ sơ", f"H{SHY}íng dÉn nép hå s¬", "Höôùng daãn noäp hoà sô",
     "Hu+o+'ng da^~n no^.p ho^` so+", "HÆ°á»›ng dáº«n ná»™p há»“ sÆ¡"),
    ("Báo cáo kết quả quý I năm 2024", "B¸o c¸o kÕt qu¶ quý I n¨m 2024", "Baùo caùo keát quaû quyù I naêm 2024",
     "Ba'o ca'o ke^'t qua? quy' I na(m 2024", "BÃ¡o cÃ¡o káº¿t quáº£ quÃ½ I nÄƒm 2024"),
    ("Ủy ban nhân dân", "ñy ban nh©n d©n", "UÛy ban nhaân daân", "U?y ban nha^n da^n", "á»¦y ban nhÃ¢n dÃ¢n"),
]
# TCVN3 has no capital toned letters: "Ủy" comes back as "ủy" (the table says "case lost").
TCVN3_EXPECTED = {"Ủy ban nhân dân": "ủy ban nhân dân"}

REAL_TCVN3 = [  # vietnam.md §4.2, real government documents
    ("Céng hoµ x· héi chñ nghÜa ViÖt Nam", "Cộng hoà xã hội chủ nghĩa Việt Nam"),
    ("§éc lËp - Tù do - H¹nh phóc", "Độc lập - Tự do - Hạnh phúc"),
    ("C¨n cø NghÞ ®Þnh sè 15/CP", "Căn cứ Nghị định số 15/CP"),
    (f"quyÕt ®Þnh cña Bé tr{SHY}ëng", "quyết định của Bộ trưởng"),
    ("§¡NG Ký KINH DOANH", "ĐĂNG KÝ KINH DOANH"),
    ("¤ng TrÇn Du", "Ông Trần Du"),
    ("CéNG HOµ X· HéI CHñ NGHÜA VIÖT NAM", "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    ("Tr−¬ng", "Trương"),  # PDF text layer: U+2212 for ư; one word, but − and ¬ are no letters
    ("Tù do", None),  # one word whose glyphs are also French letters: too little evidence alone
]
REAL_VNI = ("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam Ñoäc laäp", "Cộng hòa xã hội chủ nghĩa Việt Nam Độc lập")

WESTERN = [
    "Crème brûlée à la française, señor Muñoz, Ærøskøbing",
    "Le conseil municipal s'est réuni à l'hôtel de ville pour débattre du budget. Où est passée la réforme ? "
    "Les élèves ont reçu leurs diplômes après une année très chargée, à côté de la forêt.",
    "À Noël, nous mangeons une bûche glacée et des crêpes. Ça coûte cher, mais c'est la fête ! Naïve, elle a goûté le pâté.",
    "El señor Muñoz comió paella en la playa. ¿Dónde está la estación? Mañana iré a Córdoba con mi niño; "
    "él sí quiere ir, qué lástima. Año, señal, España, pequeño, sueño, otoño.",
    "Die Bürgermeisterin hat über die Straßenbahn gesprochen. Müller und Schäfer mögen Käse, Äpfel und Öl. "
    "Größe, Grüße, schön, für, über, Götterdämmerung in Zürich.",
    "Ærøskøbing is a town on Ærø in Denmark. Smørrebrød, blåbær and rødgrød med fløde are Danish dishes; Åse bor i Tromsø.",
    "The café served a naïve résumé of the coöperative's rôle — a déjà vu for the fiancée from São Paulo. "
    "© 2024 Loa® — 5 × 3 ÷ 2 ± 1 ° ½ ¼ ¾. RÉSUMÉ… ÉTÉ «Œuvre» „Anführung“ ‘quote’.",
    "Eyjafjallajökull og Þórður; það er gott. Ég heiti Guðrún og bý á Íslandi.",
    "Os irmãos estão à espera do avião em São Paulo; a eleição não começou, é só amanhã às três.",
]
UNICODE_VN = [
    "Việc cải cách hành chính được Ủy ban nhân dân thành phố triển khai quyết liệt.",
    "Cổng thông tin điện tử đã cập nhật hướng dẫn nộp hồ sơ trực tuyến qua dịch vụ bưu chính công ích.",
    "Giá: 5.000 đồng/tháng; liên hệ 0254.3812345 hoặc ubnd@vungtau.gov.vn. Số: 125/BC-UBND ngày 25/3/2024.",
    "Ưu tiên ứng dụng VNeID, Zalo OA, Facebook Page, website; tuyên truyền trên pano, áp phích, băng rôn.",
    "Thủ tục \"Đăng ký kết hôn\" (cấp xã) – hướng dẫn chi tiết, à, ừ, ờ, ơi, ạ.",
    "ca?i ca'ch ha`nh chi'nh, Co^?ng tho^ng tin ddie^.n tu+?",  # VIQR stays as typed
]


def cp1258_bytes(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: precomposed where the code page has the
    letter, otherwise base letter + combining tone mark (Python's codec cannot do this for NFC)."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            nfd = unicodedata.normalize("NFD", ch)
            tone = "".join(c for c in nfd if c in lt.TONES)
            base = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in lt.TONES))
            out += base.encode("cp1258") + tone.encode("cp1258")
    return bytes(out)


# ---------------------------------------------------------------- fold / nfc
def test_fold_removes_marks_in_both_tone_styles_and_maps_d():
    assert vn.fold("Hoà") == vn.fold("hòa") == vn.fold("HOA") == "hoa"
    assert vn.fold("Đăng ký") == "dang ky"
    assert vn.fold("  Ðiện\tthoại \n Thủy ") == "dien thoai thuy"
    assert vn.fold(unicodedata.normalize("NFD", "Trưởng phòng")) == "truong phong"


def test_nfc_composes():
    assert vn.nfc("Ho\u0300a") == "Hòa" and len(vn.nfc("trưởng")) == 6


# ---------------------------------------------------------------- sample table
@pytest.mark.parametrize("row", SAMPLES, ids=[r[0] for r in SAMPLES])
def test_tables_reproduce_the_sample_table(row):
    uni, tcvn3, vni, _, _ = row
    assert lt.glyphs(lt.encode_tcvn3(uni)) == tcvn3
    assert lt.glyphs(lt.encode_vni(uni)) == vni


@pytest.mark.parametrize("row", SAMPLES, ids=[r[0] for r in SAMPLES])
def test_sample_table_is_repaired(row):
    uni, tcvn3, vni, viqr, moji = row
    for garbled, code, expected in ((tcvn3, "text.tcvn3", TCVN3_EXPECTED.get(uni, uni)),
                                    (vni, "text.vni", uni), (moji, "text.mojibake", uni)):
        fixed, changes = vn.fix_text(garbled)
        assert fixed == expected, code
        assert {c.code for c in changes} == {code}
        issues = vn.find_issues(garbled)
        assert [i.code for i in issues] == [code] and issues[0].fixable
    assert vn.fix_text(viqr) == (viqr, [])  # VIQR is not detected, and not mangled either
    assert vn.find_issues(viqr) == []


@pytest.mark.parametrize("garbled,expected", REAL_TCVN3, ids=[r[0] for r in REAL_TCVN3])
def test_real_tcvn3_document_strings(garbled, expected):
    fixed, changes = vn.fix_text(garbled)
    if expected is None:
        assert fixed == garbled and changes == []
    else:
        assert fixed == expected
        assert changes and all(c.code == "text.tcvn3" for c in changes)


def test_pdf_minus_sign_for_u_horn_among_other_tcvn3_lines():
    fixed, _ = vn.fix_text("Bé tr−ëng Bé T− ph¸p\nTr−¬ng")
    assert fixed == "Bộ trưởng Bộ Tư pháp\nTrương"


def test_real_vni_document_string():
    fixed, changes = vn.fix_text(REAL_VNI[0])
    assert fixed == REAL_VNI[1]
    assert {c.code for c in changes} == {"text.vni"}


def test_short_lines_follow_the_rest_of_the_document():
    doc = "C¨n cø NghÞ ®Þnh sè 15/CP\nlµ Bé\nÔng Bà"
    fixed, changes = vn.fix_text(doc)
    assert fixed == "Căn cứ Nghị định số 15/CP\nlà Bộ\nÔng Bà"
    assert [c.line for c in changes] == [1, 2]
    assert vn.fix_text("lµ Bé")[0] == "lµ Bé"  # alone, two words prove too little


def test_changes_name_the_words_and_lines():
    text = "Tiêu đề\n\nc¶i c¸ch hµnh chÝnh, Phòng Nội vụ, dÞch vô c«ng"
    fixed, changes = vn.fix_text(text, first_line=5)
    assert fixed == "Tiêu đề\n\ncải cách hành chính, Phòng Nội vụ, dịch vụ công"
    assert [(c.line, c.before, c.after) for c in changes] == [
        (7, "c¶i c¸ch hµnh chÝnh,", "cải cách hành chính,"), (7, "dÞch vô c«ng", "dịch vụ công")]
    issue, = vn.find_issues(text, first_line=5)
    assert (issue.line, issue.col, issue.code) == (7, 2, "text.tcvn3")
    assert issue.words == ("c¶i", "c¸ch", "hµnh", "chÝnh", "dÞch", "vô", "c«ng")


# ---------------------------------------------------------------- no false alarms
@pytest.mark.parametrize("text", WESTERN + UNICODE_VN, ids=lambda t: t[:30])
def test_western_and_correct_vietnamese_text_is_left_alone(text):
    assert vn.fix_text(text) == (text, [])
    assert vn.find_issues(text) == []


@pytest.mark.parametrize("text", WESTERN, ids=lambda t: t[:30])
def test_western_text_left_alone_even_beside_legacy_lines(text):
    doc = "\n".join([REAL_TCVN3[0][0], REAL_VNI[0], text])
    fixed, _ = vn.fix_text(doc)
    assert fixed.split("\n") == [REAL_TCVN3[0][1], REAL_VNI[1], text]


@pytest.mark.parametrize("text", WESTERN, ids=lambda t: t[:30])
def test_western_cp1252_file_is_not_taken_for_vietnamese(text):
    data = text.encode("cp1252", errors="ignore")
    assert vn.detect_bytes(data).encoding == "unknown"
    assert vn.fix_file_bytes(data) == vn.FixResult(None, "unknown", [])


# ---------------------------------------------------------------- bytes
DOC = ("CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n\n"
       "Việc cải cách hành chính được ủy ban nhân dân thành phố triển khai quyết liệt. Cổng thông tin điện tử "
       "đã cập nhật hướng dẫn nộp hồ sơ trực tuyến qua dịch vụ bưu chính công ích.\n"
       "Ông Trần Du, Bộ trưởng, ký quyết định số 15/QĐ-UBND ngày 25/3/2024.\n")


@pytest.mark.parametrize("encoding,encode", [
    ("tcvn3", lt.encode_tcvn3), ("vni", lt.encode_vni), ("windows-1258", cp1258_bytes),
    ("utf-8", str.encode)])
def test_eight_bit_files_are_detected_and_converted(encoding, encode):
    data = encode(DOC)
    found = vn.detect_bytes(data)
    assert found.encoding == encoding and found.confidence > 0.5 and found.reason
    assert vn.decode_bytes(data, encoding) == DOC
    result = vn.fix_file_bytes(data)
    assert (result.text, result.encoding_found, result.changes) == (DOC, encoding, [])


def test_utf8_bom_and_bad_encoding_name():
    assert vn.decode_bytes("\ufeffHòa".encode(), "utf-8") == "Hòa"
    with pytest.raises(ValueError):
        vn.decode_bytes(b"x", "unknown")


def test_fix_file_bytes_converts_then_fixes():
    data = cp1258_bytes("Hòa bình, khoẻ mạnh, Thủy sản\n")
    result = vn.fix_file_bytes(data, tone_style="traditional", protect=["Thủy"])
    assert result.encoding_found == "windows-1258"
    assert result.text == "Hòa bình, khỏe mạnh, Thủy sản\n"
    assert [(c.code, c.before, c.after) for c in result.changes] == [("text.tone-mixed", "khoẻ", "khỏe")]
    result = vn.fix_file_bytes("Ðảm bảo chất lượng".encode())
    assert (result.text, result.changes) == ("Đảm bảo chất lượng", [vn.Change(1, "text.eth", "Ðảm", "Đảm")])


# ---------------------------------------------------------------- mojibake, NFC, eth
def test_mojibake_with_nbsp_lost_and_twice_encoded():
    assert vn.fix_text("Thá»§ tá»¥c hÃ nh chÃ\u00adnh")[0] == "Thủ tục hành chính"
    twice = "Báo cáo kết quả".encode().decode("cp1252").encode().decode("cp1252")
    assert vn.fix_text(twice)[0] == "Báo cáo kết quả"


def test_nfd_text_is_reported_and_composed():
    text = unicodedata.normalize("NFD", "Cộng hòa")
    issue, = vn.find_issues(text)
    assert (issue.code, issue.col, issue.words) == ("text.not-nfc", 2, tuple(text.split()))
    assert vn.fix_text(text)[0] == "Cộng hòa"


def test_eth_fixed_in_vietnamese_only():
    fixed, changes = vn.fix_text("Ðảm bảo chất lượng, ðiện thoại, Ðà Nẵng, Quyết định số 5/QÐ-UBND, NÐ-CP")
    assert fixed == "Đảm bảo chất lượng, điện thoại, Đà Nẵng, Quyết định số 5/QĐ-UBND, NĐ-CP"
    assert {c.code for c in changes} == {"text.eth"}
    assert vn.find_issues("Ðảm bảo")[0].words == ("Ðảm",)
    for text in ("Ég heiti Guðrún, það er gott.", "ÐAÐ ER GOTT", "Ðe mortuis", "GUÐRÚN OG ÞAÐ", "Þórður VEÐUR"):
        assert vn.fix_text(text) == (text, [])


# ---------------------------------------------------------------- tone style
def test_tone_style_both_ways_only_open_oa_oe_uy():
    trad = "Hòa thuận, thủy lợi, khỏe mạnh, Ủy ban, xòe; hoàn thành, thuyền, khoảng, quý, của, mía, ngoài"
    mod = "Hoà thuận, thuỷ lợi, khoẻ mạnh, Uỷ ban, xoè; hoàn thành, thuyền, khoảng, quý, của, mía, ngoài"
    assert vn.apply_tone_style(trad, "modern") == mod
    assert vn.apply_tone_style(mod, "traditional") == trad
    assert vn.apply_tone_style("HÒA BÌNH, ỦY BAN", "modern") == "HOÀ BÌNH, UỶ BAN"
    with pytest.raises(ValueError):
        vn.apply_tone_style(trad, "new")


def test_quotations_and_protected_names_are_never_restyled():
    text = 'Khánh Hòa và “Luật Thủy sản” hay "Cộng hòa" khỏe; ông Lê Văn Thủy nói hòa.'
    out = vn.apply_tone_style(text, "modern", protect=["Khánh Hòa", "Lê Văn Thuỷ"])
    assert out == 'Khánh Hòa và “Luật Thủy sản” hay "Cộng hòa" khoẻ; ông Lê Văn Thủy nói hoà.'
    used = vn.tone_styles_used(out, protect=["Khánh Hòa", "Lê Văn Thủy"])
    assert used == {"traditional": [], "modern": ["khoẻ", "hoà"]}


def test_mixed_styles_reported_with_words():
    text = "Hòa bình và khỏe mạnh.\nThuỷ lợi, “hoà”."
    assert vn.tone_styles_used(text) == {"traditional": ["Hòa", "khỏe"], "modern": ["Thuỷ"]}
    issue, = vn.find_issues(text, first_line=10)
    assert (issue.line, issue.col, issue.code, issue.words, issue.fixable) == (11, 1, "text.tone-mixed", ("Thuỷ",), False)
    assert issue.args == {"words": "Thuỷ", "style": "hòa, thúy, khỏe"}
    issues = vn.find_issues(text, tone_style="modern")
    assert [(i.line, i.words, i.fixable) for i in issues] == [(1, ("Hòa", "khỏe"), True)]
    assert vn.fix_text(text, tone_style="modern")[0] == "Hoà bình và khoẻ mạnh.\nThuỷ lợi, “hoà”."


# ---------------------------------------------------------------- unaccented titles
@pytest.mark.parametrize("text,expected", [
    ("Huong dan dang ky khai sinh", True),
    ("Bao cao ket qua CCHC quy I nam 2024", True),
    ("Thong bao lich tiep cong dan", True),
    ("CCHC 2024", False),
    ("Hướng dẫn đăng ký khai sinh", False),
    ("Huong dẫn dang ky", False),
    ("The long tan van in the can", False),
    ("Open data portal update", False),
    ("Zalo OA", False),
    ("", False),
])
def test_looks_unaccented(text, expected):
    assert vn.looks_unaccented(text) is expected


# ---------------------------------------------------------------- messages
def test_messages_cover_every_code_in_both_languages():
    codes = {"text.not-nfc", "text.tcvn3", "text.vni", "text.mojibake", "text.tone-mixed", "text.eth",
             "text.not-utf8", "text.no-diacritics"}
    assert set(vn.MESSAGES) == codes
    for vi, en in vn.MESSAGES.values():
        fields = {f for _, f, _, _ in string.Formatter().parse(vi) if f}
        assert fields == {f for _, f, _, _ in string.Formatter().parse(en) if f}
        assert fields <= {"words", "style", "encoding"}
        vi.format(words="x", style="y", encoding="z")


def test_message_wording():
    issue, = vn.find_issues("c¶i c¸ch hµnh chÝnh")
    assert vn.MESSAGES[issue.code][0].format(**issue.args) == (
        "chữ gõ bằng bảng mã cũ TCVN3 (ABC, phông .VnTime) nên hiển thị sai: c¶i, c¸ch, hµnh, chÝnh; "
        "chạy `loa check --fix` để chuyển sang Unicode dựng sẵn (NFC)")
    assert vn.MESSAGES["text.not-utf8"][1].format(encoding="tcvn3") == (
        "the file is not saved as UTF-8 but in the tcvn3 encoding; run `loa check --fix` to convert it to "
        "UTF-8, precomposed Unicode (NFC)")


# ---------------------------------------------------------------- properties
_ASCII = string.ascii_letters + string.digits + " .,;:-/()\n"
tcvn3_text = st.text(alphabet=st.sampled_from(sorted(lt.TCVN3_REPERTOIRE) + list(_ASCII)), max_size=80)
vni_text = st.text(alphabet=st.sampled_from(sorted(lt.VNI_REPERTOIRE) + list(_ASCII)), max_size=80)


@given(tcvn3_text)
def test_tcvn3_round_trip(text):
    assert lt.decode_tcvn3(lt.encode_tcvn3(text)) == text


@given(vni_text)
def test_vni_round_trip(text):
    assert lt.decode_vni(lt.encode_vni(text)) == text


@given(st.text())
def test_fold_is_idempotent(text):
    assert vn.fold(vn.fold(text)) == vn.fold(text)


_PIECES = [p for row in SAMPLES for p in row] + [g for g, _ in REAL_TCVN3] + [REAL_VNI[0]] + WESTERN + UNICODE_VN + [
    "Ðảm", "hòa", "hoà", "“Thủy”", "\n", " ", unicodedata.normalize("NFD", "Thuyền")]
mixed_text = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=8)), max_size=8).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(mixed_text, st.sampled_from([None, "traditional", "modern"]))
@example("c¶i c¸ch hµnh chÝnh Coång thoâng tin ñieän töû", None)  # two tables in one line
@example("cải cách c¶i c¸ch hµnh chÝnh c¶i c¸ch caûi caùch haønh chính Ðảm", None)  # eth beside TCVN3
@example("c¶i c¸ch hµnh chÝnh ¢º ¢º", None)  # a conversion that leaves mojibake
@example("§¡NG Ký KINH DOANH hòa", "modern")  # restyling tips the legacy check (found by CI)
def test_fix_text_is_idempotent(text, style):
    once, _ = vn.fix_text(text, tone_style=style)
    assert vn.fix_text(once, tone_style=style) == (once, [])


# ---------------------------------------------------------------- a legacy passage pasted into UTF-8
@pytest.mark.parametrize("legacy, expected, encoding", [
    ("C¨n cø NghÞ ®Þnh sè 15/CP vÒ c¶i c¸ch hµnh chÝnh", "Căn cứ Nghị định số 15/CP về cải cách hành chính", "tcvn3"),
    (REAL_VNI[0], REAL_VNI[1], "vni"),
])
def test_a_legacy_passage_in_a_utf8_file_is_found_and_converted(legacy, expected, encoding):
    """Staff paste a paragraph from an old document into a UTF-8 post: the file is not valid UTF-8,
    the rest of it is. The passage is named, its lines given, and --fix converts only it."""
    head = "---\ntitle: Thông báo của Ủy ban nhân dân phường\n---\n\nỦy ban nhân dân phường thông báo:\n"
    data = head.encode() + legacy.encode("cp1252") + b"\nTr\xc3\xa2n tr\xe1\xbb\x8dng.\n"
    mixed = vn.detect_mixed(data)
    assert mixed is not None and mixed.lines == [6] and mixed.encoding == encoding
    result = vn.fix_file_bytes(data)
    assert result.encoding_found == f"utf-8 + {encoding}"
    assert result.text == head + expected + "\nTrân trọng.\n"
    assert [(c.line, c.code, c.after) for c in result.changes][:1] == [(6, f"text.{encoding}", expected)]
    assert vn.detect_mixed(head.encode()) is None  # valid UTF-8
    assert vn.detect_mixed(legacy.encode("cp1252")) is None  # a whole legacy file: detect_bytes' case
