"""Every sentence the bot says to a citizen, in Vietnamese, in one place.

The citizen is addressed as "Ông/Bà" throughout, and the bot signs as the agency, never as a bot.
Keep messages short enough for a phone screen; `split_text` cuts anything longer than Zalo's
2,000-character limit.
"""

from __future__ import annotations

from cases.notifications import split_text  # noqa: F401  (one splitter for all)

MAX_MESSAGE = 2000
CONSENT_VERSION = "2026-11-v1"

# Limits stated to the citizen (kept here so the text and the check never disagree).
TITLE_MIN, TITLE_MAX = 10, 200
CONTENT_MIN, CONTENT_MAX = 20, 5000
MAX_ATTACHMENTS = 10
ADDRESS_MIN, ADDRESS_MAX = 5, 300

HOW_TO_CHOOSE = "Ông/Bà bấm nút hoặc gõ số thứ tự."

# --- Menu and welcome -------------------------------------------------------------------------
WELCOME = (
    "{agency} xin chào Ông/Bà!\n"
    "Đây là kênh tiếp nhận phản ánh, kiến nghị (PAKN) của người dân và doanh nghiệp "
    "về quy định hành chính và dịch vụ công."
)
MENU_QUESTION = "Ông/Bà cần hỗ trợ gì?"
MENU_SUBMIT = "Gửi phản ánh, kiến nghị"
MENU_LOOKUP = "Tra cứu"
MENU_GUIDE = "Hướng dẫn"
UNKNOWN_OUTSIDE_FLOW = "Cảm ơn Ông/Bà đã nhắn tin."

# --- Guide ("Hướng dẫn"): an index of topics, one short message per topic ---------------------
GUIDE_INDEX = "Hướng dẫn sử dụng kênh phản ánh, kiến nghị (PAKN). Ông/Bà chọn chủ đề cần xem:"
GUIDE_INDEX_MORE = "Các chủ đề khác:"
GUIDE_HOW_TO_CHOOSE = "Ông/Bà bấm nút, gõ số thứ tự hoặc tên chủ đề."
GUIDE_TOPIC_SCOPE = "PAKN là gì?"
GUIDE_TOPIC_SUBMIT = "Cách gửi"
GUIDE_TOPIC_LOOKUP = "Cách tra cứu"
GUIDE_TOPIC_DEADLINE = "Thời hạn trả lời"
GUIDE_TOPIC_CHANNELS = "Kênh chính thức"
GUIDE_TOPIC_PRIVACY = "Dữ liệu cá nhân"
GUIDE_BUTTON_INDEX = "Mục lục hướng dẫn"
GUIDE_BUTTON_MAIN_MENU = "Danh mục chính"
GUIDE_BUTTON_SUBMIT = "Gửi PAKN"
GUIDE_BUTTON_LOOKUP = "Tra cứu PAKN"
# After the scope text of the submission flow (SCOPE).
GUIDE_SCOPE_EXAMPLES = (
    "Ví dụ là PAKN:\n"
    "• Thủ tục cấp phép xây dựng đòi thêm giấy tờ ngoài quy định.\n"
    "• Hồ sơ đăng ký hộ kinh doanh bị trả kết quả chậm, không rõ lý do.\n"
    "• Đề nghị cho phép nộp hồ sơ hộ tịch trực tuyến.\n"
    "Không phải PAKN:\n"
    "• Khiếu nại quyết định xử phạt đối với chính mình.\n"
    "• Tố cáo cán bộ nhận tiền của người dân.\n"
    "• Hỏi cách chia thừa kế, lập di chúc (tư vấn pháp luật).\n"
    "Khiếu nại, tố cáo: gửi đến cơ quan có thẩm quyền hoặc Ban Tiếp công dân. Tư vấn pháp luật: "
    "Trung tâm trợ giúp pháp lý nhà nước. Đường dây nóng: {hotline}."
)
GUIDE_SUBMIT = (
    "Cách gửi PAKN qua Zalo:\n"
    '1. Chọn "Gửi phản ánh, kiến nghị" trong danh mục chính.\n'
    "2. Trả lời lần lượt: loại, lĩnh vực, tiêu đề, nội dung; gửi kèm ảnh, tệp, vị trí nếu có.\n"
    "3. Cung cấp họ tên, số điện thoại, địa chỉ (bắt buộc theo quy định), kiểm tra lại rồi bấm "
    '"Gửi PAKN".\n'
    "4. Ông/Bà nhận mã PAKN để tra cứu.\n"
    'Khi đang gửi, Ông/Bà có thể gõ: "menu" để về danh mục chính, "quay lại" để trở lại câu hỏi '
    'trước, "hủy" để hủy, "trợ giúp" để xem hướng dẫn.'
)
GUIDE_LOOKUP = (
    "Cách tra cứu PAKN:\n"
    '• Trên Zalo: chọn "Tra cứu" để xem các PAKN đã gửi, hoặc gõ mã PAKN '
    "(ví dụ PAKN.20261127.0001).\n"
    "• Mỗi khi PAKN được chuyển xử lý, cần bổ sung thông tin hoặc có kết quả, cơ quan nhắn "
    "qua Zalo này."
)
GUIDE_LOOKUP_WEB = (
    "• Trên trang web {url}/tra-cuu: nhập mã PAKN; thêm 4 số cuối điện thoại để xem chi tiết.\n"
    "• Kết quả đã công khai: {url}/cong-khai"
)
GUIDE_DEADLINE = (
    "Thời hạn trả lời:\n"
    "• PAKN được phân loại, chuyển đơn vị có thẩm quyền trong {classify_days} ngày làm việc.\n"
    "• Cơ quan trả lời trong {period} kể từ ngày tiếp nhận; ngày trả lời dự kiến được báo cùng "
    "mã PAKN. Một số lĩnh vực có thể có thời hạn riêng.\n"
    "• Khi cơ quan đề nghị bổ sung thông tin, thời hạn tạm dừng đến khi Ông/Bà bổ sung."
)
DAYS_CALENDAR = "{n} ngày"
DAYS_WORKING = "{n} ngày làm việc"
GUIDE_CHANNELS = (
    "Kênh chính thức tiếp nhận PAKN:\n"
    "• Zalo Official Account này của {agency}.\n"
    "• Cổng Dịch vụ công quốc gia: {portal}\n"
    "• Đường dây nóng: {hotline}\n"
    "Cơ quan không thu phí, không đề nghị chuyển tiền hay cung cấp mật khẩu, mã OTP. "
    "Ông/Bà vui lòng cảnh giác với các tài khoản giả mạo."
)
GUIDE_PRIVACY = (
    "Dữ liệu cá nhân:\n"
    "• Họ tên, số điện thoại, địa chỉ, email của Ông/Bà chỉ dùng để xử lý PAKN và liên hệ với "
    "Ông/Bà về PAKN đó.\n"
    "• Chỉ cán bộ có thẩm quyền của cơ quan xử lý được xem thông tin liên hệ; khi công khai kết "
    "quả, thông tin này được che (Ông/Bà có thể chọn ẩn cả họ tên).\n"
    "• {retention}\n"
    '• Gõ "Dữ liệu của tôi" để xem thông tin cơ quan đang lưu về Ông/Bà; gõ "Xóa dữ liệu" để '
    "xóa (hệ thống hỏi lại trước khi xóa)."
)
GUIDE_RETENTION_DAYS = (
    "Thông tin cá nhân trong PAKN được ẩn danh sau {retention_days} ngày kể từ khi PAKN kết thúc."
)
GUIDE_RETENTION_DEFAULT = "Thông tin cá nhân được lưu giữ theo quy định về lưu trữ hồ sơ PAKN."

# --- Universal commands -----------------------------------------------------------------------
CANCELLED = "Đã hủy nội dung đang soạn. Ông/Bà có thể bắt đầu lại bất cứ lúc nào."
NOTHING_TO_CANCEL = "Hiện không có nội dung nào đang soạn."
HELP_FOOTER = 'Các lệnh dùng được mọi lúc: "menu", "quay lại", "hủy", "trợ giúp".'
APOLOGY = (
    "Xin lỗi Ông/Bà, hệ thống gặp sự cố khi xử lý tin nhắn vừa rồi. "
    'Tin nhắn đã được lưu lại; Ông/Bà vui lòng thử lại sau ít phút hoặc gõ "menu".'
)
STALE_DRAFT = "Ông/Bà có một phản ánh, kiến nghị đang soạn dở từ {since}. Ông/Bà muốn tiếp tục hay bắt đầu lại?"
RESUME_CONTINUE = "Tiếp tục"
RESUME_RESTART = "Bắt đầu lại"

# --- Invalid input ----------------------------------------------------------------------------
INVALID_CHOICE = "Xin lỗi, hệ thống chưa nhận ra lựa chọn của Ông/Bà."
TEXT_EXPECTED = "Ở bước này, Ông/Bà vui lòng gõ nội dung bằng chữ."
OLD_BUTTON = "Nút vừa bấm thuộc câu hỏi trước, không dùng được ở bước này."
MEDIA_NOT_ACCEPTED = "Hệ thống chỉ nhận ảnh và tệp tài liệu (PDF, Word, Excel); chưa nhận âm thanh, video hay nhãn dán."

# --- Submission flow --------------------------------------------------------------------------
SCOPE = (
    "Phản ánh, kiến nghị là ý kiến về quy định hành chính, thủ tục hành chính, "
    "hành vi của cơ quan, cán bộ khi giải quyết công việc, hoặc đề xuất sáng kiến.\n"
    "Khiếu nại, tố cáo và yêu cầu tư vấn pháp luật không thuộc phạm vi này."
)
SCOPE_QUESTION = "Ông/Bà chọn một trong các mục sau:"
SCOPE_CONTINUE = "Tiếp tục gửi PAKN"
SCOPE_COMPLAINT = "Khiếu nại, tố cáo"
SCOPE_LEGAL = "Tư vấn pháp luật"
REDIRECT_COMPLAINT = (
    "Khiếu nại, tố cáo được giải quyết theo Luật Khiếu nại và Luật Tố cáo, không qua kênh PAKN. "
    "Ông/Bà vui lòng gửi đơn trực tiếp đến cơ quan có thẩm quyền hoặc Ban Tiếp công dân; "
    "thông tin thêm qua đường dây nóng {hotline}."
)
REDIRECT_LEGAL = (
    "Kênh PAKN không thực hiện tư vấn pháp luật. Ông/Bà có thể liên hệ Trung tâm trợ giúp pháp lý "
    "nhà nước hoặc tổ chức hành nghề luật sư; thông tin thêm qua đường dây nóng {hotline}."
)
ASK_KIND = "Ông/Bà muốn gửi phản ánh hay kiến nghị?"
KIND_FEEDBACK = "Phản ánh"
KIND_PETITION = "Kiến nghị"
KIND_HINT = (
    "Phản ánh: nêu sự việc, vướng mắc, hành vi chưa đúng. "
    "Kiến nghị: đề xuất sửa đổi quy định hoặc giải pháp."
)
ASK_FIELD = "Nội dung thuộc lĩnh vực nào?"
NO_FIELDS = "Xin lỗi, hệ thống chưa sẵn sàng tiếp nhận. Ông/Bà vui lòng thử lại sau."
ASK_UNIT = "Đơn vị tiếp nhận đề xuất: {unit}. Ông/Bà đồng ý hay chọn đơn vị khác?"
UNIT_ACCEPT = "Đồng ý"
UNIT_OTHER = "Chọn đơn vị khác"
ASK_UNIT_PICK = "Ông/Bà chọn đơn vị tiếp nhận:"
ASK_TITLE = "Ông/Bà vui lòng gõ tiêu đề ngắn gọn ({min}–{max} ký tự)."
TITLE_TOO_SHORT = "Tiêu đề quá ngắn (tối thiểu {min} ký tự)."
TITLE_TOO_LONG = "Tiêu đề quá dài (tối đa {max} ký tự)."
ASK_CONTENT = (
    "Ông/Bà vui lòng trình bày nội dung (có thể gửi nhiều tin nhắn, tối đa {max} ký tự). "
    'Gõ "xong" khi đã trình bày đủ.'
)
ASK_CONTENT_EDIT = "Nội dung cũ sẽ được thay thế. " + ASK_CONTENT
CONTENT_NOTED = 'Đã ghi nhận ({length}/{max} ký tự). Ông/Bà gửi tiếp hoặc gõ "xong".'
CONTENT_TOO_SHORT = "Nội dung còn quá ngắn (tối thiểu {min} ký tự). Ông/Bà vui lòng trình bày thêm."
CONTENT_TOO_LONG = (
    "Tin nhắn này làm nội dung vượt quá {max} ký tự nên chưa được ghi nhận. "
    "Ông/Bà vui lòng rút gọn rồi gửi lại."
)
CONTENT_DONE = "Xong"
ASK_ATTACHMENTS = (
    "Ông/Bà có thể gửi tối đa {max} ảnh hoặc tệp (PDF, Word, Excel) minh họa. "
    'Gõ "xong" khi đã gửi đủ, hoặc "bỏ qua" nếu không có.'
)
ASK_ATTACHMENTS_EDIT = "Các tệp đã gửi trước đó sẽ được thay thế. " + ASK_ATTACHMENTS
ATTACHMENT_NOTED = 'Đã nhận {count}/{max} tệp. Ông/Bà gửi tiếp hoặc gõ "xong".'
ATTACHMENTS_FULL = "Ông/Bà đã gửi đủ {max} tệp; tệp này chưa được ghi nhận."
ATTACHMENTS_PARTLY = "Chỉ nhận tối đa {max} tệp: {dropped} tệp cuối chưa được ghi nhận."
ATTACHMENT_SKIP = "Bỏ qua"
ATTACHMENT_DONE = "Xong"
ASK_LOCATION = (
    'Sự việc xảy ra ở đâu? Ông/Bà chia sẻ vị trí (bấm dấu + rồi chọn "Vị trí") '
    'hoặc gõ địa chỉ. Gõ "bỏ qua" nếu không cần.'
)
LOCATION_SKIP = "Bỏ qua"
ADDRESS_TOO_SHORT = "Địa chỉ quá ngắn (tối thiểu {min} ký tự)."
ADDRESS_TOO_LONG = "Địa chỉ quá dài (tối đa {max} ký tự)."
ASK_CONTACT = (
    "Theo quy định, PAKN cần có họ tên, địa chỉ và số điện thoại của người gửi. "
    'Ông/Bà bấm "Chia sẻ thông tin" trên thẻ bên dưới, hoặc gõ họ và tên.'
)
INFO_CARD_TITLE = "{agency}"
INFO_CARD_SUBTITLE = "Xin cung cấp thông tin liên hệ để cơ quan trả lời phản ánh, kiến nghị"
NAME_INVALID = "Họ tên chưa hợp lệ (2–100 ký tự, không chứa ký hiệu lạ)."
ASK_PHONE = "Ông/Bà vui lòng gõ số điện thoại liên hệ (ví dụ 0912345678)."
PHONE_INVALID = (
    "Số điện thoại chưa đúng. Số di động gồm 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09."
)
ASK_ADDRESS = "Ông/Bà vui lòng gõ địa chỉ liên hệ (số nhà, đường, phường/xã, tỉnh/thành phố)."
ASK_EMAIL = 'Ông/Bà gõ địa chỉ email nếu muốn nhận thêm thông tin qua email, hoặc gõ "bỏ qua".'
EMAIL_INVALID = "Địa chỉ email chưa đúng (ví dụ: ten@example.com)."
EMAIL_SKIP = "Bỏ qua"
ASK_CONSENT = (
    "Thông tin cá nhân của Ông/Bà chỉ được dùng để tiếp nhận, xử lý và trả lời PAKN này, "
    "theo Luật Bảo vệ dữ liệu cá nhân. Ông/Bà có đồng ý không?"
)
CONSENT_YES = "Đồng ý"
CONSENT_NO = "Không đồng ý"
CONSENT_REQUIRED = (
    "Theo quy định, cơ quan không tiếp nhận PAKN không rõ người gửi. Nếu không đồng ý, "
    'Ông/Bà có thể gõ "hủy"; hoặc chọn "Đồng ý" để tiếp tục.'
)
ASK_PRIVACY = (
    "Khi công khai kết quả trả lời, Ông/Bà có muốn ẩn họ tên và thông tin liên hệ của mình không?"
)
PRIVACY_HIDE = "Ẩn thông tin của tôi"
PRIVACY_SHOW = "Không cần ẩn"
CONFIRM_HEADER = "Ông/Bà vui lòng kiểm tra lại:"
CONFIRM_QUESTION = "Ông/Bà gửi PAKN này?"
CONFIRM_SEND = "Gửi PAKN"
CONFIRM_EDIT = "Sửa thông tin"
CONFIRM_CANCEL = "Hủy"
ASK_EDIT = "Ông/Bà muốn sửa mục nào?"
SUMMARY_KIND = "Loại"
SUMMARY_FIELD = "Lĩnh vực"
SUMMARY_UNIT = "Đơn vị tiếp nhận"
SUMMARY_TITLE = "Tiêu đề"
SUMMARY_CONTENT = "Nội dung"
SUMMARY_ATTACHMENTS = "Tệp đính kèm"
SUMMARY_LOCATION = "Địa điểm"
SUMMARY_CONTACT = "Người gửi"
SUMMARY_ADDRESS = "Địa chỉ liên hệ"
SUMMARY_EMAIL = "Email"
SUMMARY_PRIVACY = "Khi công khai"
SUMMARY_NONE = "không có"
SUMMARY_HIDDEN = "ẩn thông tin người gửi"
SUMMARY_SHOWN = "hiển thị họ tên"
SUMMARY_PIN = "vị trí đã chia sẻ ({lat}, {lng})"
SUBMITTED = (
    "{agency} đã tiếp nhận phản ánh, kiến nghị của Ông/Bà.\n"
    "Mã PAKN: {code}\n"
    "Ngày tiếp nhận: {received}\n"
    "Thời hạn trả lời dự kiến: {due}\n"
    'Kết quả sẽ được gửi qua Zalo này. Ông/Bà giữ mã để tra cứu (gõ "tra cứu").'
)

# --- Lookup and adding information ------------------------------------------------------------
NO_CASES = "Ông/Bà chưa gửi phản ánh, kiến nghị nào qua kênh này."
CASE_LIST_HEADER = "Các PAKN của Ông/Bà:"
CASE_LIST_LINE = "{n}. {code} — {title} — {status} ({received})"
CASE_LIST_FOOTER = "Ông/Bà gõ số thứ tự hoặc mã PAKN để xem chi tiết."
CASE_NOT_FOUND = "Không tìm thấy PAKN có mã {code} trong các PAKN của Ông/Bà."
CASE_DETAIL = (
    "{code}\n"
    "Tiêu đề: {title}\n"
    "Lĩnh vực: {field}\n"
    "Đơn vị: {unit}\n"
    "Trạng thái: {status}\n"
    "Ngày tiếp nhận: {received}\n"
    "Thời hạn trả lời dự kiến: {due}"
)
CASE_TIMELINE_HEADER = "Quá trình xử lý:"
CASE_TIMELINE_LINE = "• {at}: {what}"
ADD_OR_NEW = "Ông/Bà có {code} ({title}) đang được xử lý. Ông/Bà muốn:"
ADD_TO_CASE = "Bổ sung vào {code}"
ADD_NEW = "Gửi PAKN mới"
ADD_MENU = "Xem danh mục"
ADD_NOTED = (
    'Đã bổ sung vào {code}. Ông/Bà có thể gửi thêm nội dung hoặc ảnh; gõ "xong" khi hoàn tất.'
)
ADD_MORE_NOTED = 'Đã bổ sung vào {code}. Gõ "xong" khi hoàn tất.'
ADD_DONE = "Cảm ơn Ông/Bà. Thông tin bổ sung đã được chuyển đến cán bộ xử lý {code}."
INFO_SAVED = "Cảm ơn Ông/Bà đã cung cấp thông tin liên hệ."

# --- Step help (shown for "trợ giúp") ---------------------------------------------------------
STEP_HELP = {
    "submit_content": "Ông/Bà nêu rõ sự việc: ở đâu, khi nào, ai liên quan, mong muốn được giải quyết thế nào.",
    "submit_attachments": "Bấm dấu + trong khung chat để gửi ảnh hoặc tệp.",
    "submit_location": 'Bấm dấu + trong khung chat, chọn "Vị trí" để chia sẻ vị trí hiện tại.',
    "submit_contact": 'Bấm "Chia sẻ thông tin" trên thẻ để gửi họ tên, số điện thoại, địa chỉ từ Zalo.',
}


def number(value: int) -> str:
    """Format a whole number the Vietnamese way: 5.000."""
    return f"{value:,}".replace(",", ".")


# --- Delivery ---------------------------------------------------------------------------------
HELD_NOTICE = "Ông/Bà có {count} thông báo mới về phản ánh, kiến nghị của mình:"

# --- Satisfaction survey ----------------------------------------------------------------------
SURVEY_ASK_RESOLVED = (
    "{code} ({title}) đã được trả lời. Vấn đề Ông/Bà phản ánh, kiến nghị đã được giải quyết chưa?"
)
SURVEY_ASK_AGAIN = (
    "Cơ quan rất mong nhận được ý kiến của Ông/Bà về kết quả giải quyết {code} ({title}). "
    "Vấn đề đã được giải quyết chưa?"
)
SURVEY_RESOLVED_YES = "Đã giải quyết"
SURVEY_RESOLVED_NO = "Chưa giải quyết"
SURVEY_RESOLVED_PARTLY = "Giải quyết một phần"
SURVEY_ASK_RATING = "Ông/Bà đánh giá thế nào về kết quả giải quyết {code}?"
SURVEY_VERY_SATISFIED = "Rất hài lòng"
SURVEY_SATISFIED = "Hài lòng"
SURVEY_NEUTRAL = "Bình thường"
SURVEY_DISSATISFIED = "Không hài lòng"
SURVEY_VERY_DISSATISFIED = "Rất không hài lòng"
SURVEY_ASK_COMMENT = 'Ông/Bà có ý kiến gì thêm không? Ông/Bà gõ ý kiến hoặc bấm "Bỏ qua".'
SURVEY_COMMENT_SKIP = "Bỏ qua"
SURVEY_ASK_REVIEW = (
    "Cơ quan rất tiếc vì kết quả giải quyết chưa đáp ứng mong muốn của Ông/Bà. "
    "Ông/Bà có đề nghị xem xét lại {code} không?"
)
SURVEY_REVIEW_YES = "Đề nghị xem xét lại"
SURVEY_REVIEW_NO = "Không"
SURVEY_REOPENED = (
    "{code} đã được mở lại để cơ quan xem xét, xử lý lại. "
    "Kết quả sẽ được gửi đến Ông/Bà qua Zalo này."
)
SURVEY_STILL_OPEN = "{code} đang được xem xét, xử lý; kết quả sẽ được gửi đến Ông/Bà qua Zalo này."
SURVEY_THANKS = (
    "Xin cảm ơn Ông/Bà đã đánh giá kết quả giải quyết {code}. "
    "Ý kiến của Ông/Bà giúp cơ quan phục vụ người dân, doanh nghiệp ngày càng tốt hơn."
)
SURVEY_ALREADY_ANSWERED = "Ông/Bà đã đánh giá {code}. Xin cảm ơn Ông/Bà."
SURVEY_NOT_FOUND = "Xin lỗi, không tìm thấy PAKN cần đánh giá."
SURVEY_TAP_BUTTON = "Ông/Bà bấm nút để chọn."

# --- Staff Zalo linking -----------------------------------------------------------------------
STAFF_LINKED = (
    "Đã liên kết tài khoản Zalo với tài khoản cán bộ {name}. Nhắc việc sẽ được gửi qua Zalo này."
)
STAFF_LINK_INVALID = (
    "Mã liên kết không đúng hoặc đã hết hạn. "
    "Đề nghị tạo mã mới trên trang quản trị và gửi lại trong vòng 15 phút."
)
STAFF_LINK_LOCKED = (
    "Ông/Bà đã gửi sai mã liên kết nhiều lần. Đề nghị thử lại sau 1 giờ, "
    "với mã mới tạo trên trang quản trị."
)

# --- Personal data: "Dữ liệu của tôi", "Xóa dữ liệu" (bot/flows/privacy.py) -----------------------
PRIVACY_COMMAND_VIEW = "Dữ liệu của tôi"
PRIVACY_COMMAND_DELETE = "Xóa dữ liệu"
PRIVACY_HEADER = "Thông tin cá nhân cơ quan đang lưu về Ông/Bà:"
PRIVACY_NAME = "Họ tên"
PRIVACY_PHONE = "Số điện thoại"
PRIVACY_ADDRESS = "Địa chỉ"
PRIVACY_EMAIL = "Email"
PRIVACY_NONE = "chưa có"
PRIVACY_CASES = "• PAKN đã gửi: {count}"
PRIVACY_MESSAGES = "• Tin nhắn Ông/Bà đã gửi qua Zalo: {count}"
PRIVACY_FILES = "• Ảnh, tệp Ông/Bà đã gửi kèm PAKN: {count}"
PRIVACY_CONSENT = "• Ông/Bà đồng ý cho cơ quan xử lý dữ liệu cá nhân lúc: {at}"
PRIVACY_PURPOSE = "Dữ liệu chỉ dùng để tiếp nhận, xử lý và trả lời PAKN của Ông/Bà."
PRIVACY_QUESTION = "Ông/Bà muốn:"
PRIVACY_BACK = "Về danh mục chính"
PRIVACY_CONFIRM = (
    "Khi xóa dữ liệu cá nhân:\n"
    "• Cơ quan xóa họ tên, số điện thoại, địa chỉ, email, tin nhắn, ảnh và tệp Ông/Bà đã gửi; "
    "nội dung PAKN được giữ lại ở dạng ẩn danh để thống kê.\n"
    "• Ông/Bà rút lại sự đồng ý xử lý dữ liệu cá nhân: cơ quan sẽ không nhắn tin cho Ông/Bà "
    "về các PAKN đã gửi nữa."
)
PRIVACY_CONFIRM_OPEN = (
    "• {code} đang được xử lý: cơ quan vẫn giải quyết nhưng không gửi được kết quả cho Ông/Bà. "
    "Ông/Bà nên chờ nhận kết quả rồi hãy xóa dữ liệu."
)
PRIVACY_LOOKUP = "• Sau khi xóa, Ông/Bà vẫn theo dõi được tiến độ bằng mã PAKN tại {url}/tra-cuu"
PRIVACY_CONFIRM_QUESTION = "Việc xóa không thể hoàn tác. Ông/Bà có chắc muốn xóa?"
PRIVACY_CONFIRM_YES = "Đồng ý xóa"
PRIVACY_CONFIRM_NO = "Không xóa"
PRIVACY_CONFIRM_UNCLEAR = 'Ông/Bà vui lòng chọn "Đồng ý xóa" hoặc "Không xóa".'
PRIVACY_CONFIRM_STALE = "Yêu cầu xóa dữ liệu đã quá lâu; Ông/Bà vui lòng xác nhận lại."
PRIVACY_KEPT = "Dữ liệu của Ông/Bà được giữ nguyên."
PRIVACY_ERASED = (
    "Dữ liệu cá nhân của Ông/Bà đã được xóa theo yêu cầu. "
    "Đây là tin nhắn cuối cùng cơ quan gửi về các PAKN trước đây; nếu Ông/Bà nhắn tin tiếp, "
    "cơ quan coi đó là một liên hệ mới."
)
PRIVACY_ERASED_CASES = "{count} PAKN của Ông/Bà được giữ lại ở dạng ẩn danh để thống kê."
PRIVACY_ERASED_LOOKUP = "Ông/Bà theo dõi tiến độ {code} bằng mã PAKN tại {url}/tra-cuu"
