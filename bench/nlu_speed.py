"""NLU speed: questions per second in one process, and import + index time for a large knowledge base.

    .venv/bin/python bench/nlu_speed.py                       # SQLite in a temporary directory
    .venv/bin/python bench/nlu_speed.py --database-url postgresql://postgres@127.0.0.1:5432/bench

1. The seed knowledge base (nlu_data/kb/seed.jsonl): every question of nlu_data/eval/*.tsv is asked
   round after round until --questions have been answered, one at a time, through the async
   ``BuiltinNlu.understand`` (what the conversation calls).
2. --entries synthetic official Q&A (procedures × what is asked × provinces, realistic length) are
   written to JSONL, then ``hailong kb import`` (parse + check + upsert) and ``BuiltinNlu.reload()``
   (read back + build the index, including underthesea word segmentation of every question) are timed,
   and questions are asked against that index too.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.nlu.builtin import BuiltinNlu  # noqa: E402
from bot.nlu.evaluate import read_eval  # noqa: E402
from bot.nlu.kb import read_entries, store_entries  # noqa: E402
from bot.settings import REPO_ROOT  # noqa: E402
from bot.store.db import create_engine_async  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402

NLU_DIR = REPO_ROOT / "nlu_data"

PROCEDURES = [
    "cấp giấy phép xây dựng nhà ở riêng lẻ", "đăng ký xe mô tô", "cấp đổi giấy phép lái xe", "đăng ký thường trú",
    "đăng ký tạm trú", "cấp thẻ căn cước", "đăng ký khai sinh", "đăng ký kết hôn", "đăng ký khai tử",
    "cấp phiếu lý lịch tư pháp", "chứng thực bản sao từ bản chính", "chứng thực chữ ký", "đăng ký hộ kinh doanh",
    "cấp giấy chứng nhận quyền sử dụng đất", "chuyển nhượng quyền sử dụng đất", "tách thửa đất",
    "đăng ký biến động đất đai", "cấp giấy phép kinh doanh rượu", "cấp giấy phép lao động cho người nước ngoài",
    "hưởng trợ cấp thất nghiệp", "hưởng bảo hiểm xã hội một lần", "cấp thẻ bảo hiểm y tế", "trợ cấp xã hội hằng tháng",
    "hỗ trợ chi phí mai táng", "xác nhận tình trạng hôn nhân", "thay đổi cải chính hộ tịch", "nhận cha mẹ con",
    "đăng ký giám hộ", "đăng ký nuôi con nuôi", "cấp hộ chiếu phổ thông", "gia hạn tạm trú cho người nước ngoài",
    "cấp giấy chứng nhận an toàn thực phẩm", "cấp giấy phép môi trường", "thẩm định thiết kế cơ sở",
    "cấp chứng chỉ hành nghề y", "cấp chứng chỉ hành nghề dược", "công nhận trường đạt chuẩn quốc gia",
    "chuyển trường cho học sinh trung học", "cấp bản sao văn bằng chứng chỉ", "cấp giấy phép quảng cáo",
    "cấp giấy phép tổ chức lễ hội", "đăng ký hoạt động tín ngưỡng", "cấp giấy phép khai thác khoáng sản",
    "cấp giấy phép sử dụng vật liệu nổ", "đăng ký phương tiện thủy nội địa", "cấp giấy phép lái tàu cá",
    "hỗ trợ người có công với cách mạng", "cấp giấy chứng nhận hộ nghèo", "cấp nước sạch nông thôn",
    "cấp giấy phép đào đường", "thuê đất của nhà nước", "giao đất tái định cư", "bồi thường khi thu hồi đất",
    "cấp giấy phép hoạt động karaoke", "đăng ký hiến xác", "cấp thẻ người khuyết tật", "xác định mức độ khuyết tật",
    "đăng ký nghĩa vụ quân sự", "hoãn gọi nhập ngũ", "cấp giấy chứng nhận đăng ký doanh nghiệp",
    "đăng ký thuế cá nhân", "hoàn thuế thu nhập cá nhân", "miễn giảm tiền sử dụng đất", "cấp mã số hợp tác xã",
    "đăng ký nhãn hiệu", "cấp giấy phép xuất bản", "cấp giấy phép nhập khẩu thuốc", "kiểm dịch động vật",
    "cấp giấy phép hành nghề luật sư", "công chứng hợp đồng mua bán nhà", "lập di chúc", "khai nhận di sản",
    "cấp lại giấy khai sinh", "đổi tên cho con", "xác nhận cư trú", "đăng ký sim chính chủ",
    "cấp giấy phép vận tải", "đăng kiểm xe ô tô", "đăng ký biển số xe", "nộp phạt vi phạm giao thông",
    "cấp giấy phép nuôi trồng thủy sản", "hỗ trợ thiệt hại thiên tai", "vay vốn chính sách xã hội",
    "cấp học bổng chính sách", "miễn giảm học phí", "tuyển sinh đầu cấp", "cấp thẻ thư viện", "đăng ký hiến máu",
    "cấp giấy phép mở phòng khám", "đăng ký tiêm chủng", "cấp giấy xác nhận nhân thân", "cấp giấy phép lưu trú",
    "đăng ký tổ chức cưới", "cấp phép treo biển hiệu", "cấp phép sửa chữa nhà", "xin cấp số nhà",
    "đăng ký mã số định danh doanh nghiệp", "cấp giấy chứng nhận nguồn gốc hàng hóa",
]
FACETS = [
    ("Thủ tục {p} cần những giấy tờ gì?", "Hồ sơ {p} gồm tờ khai theo mẫu, giấy tờ tùy thân và giấy tờ chứng minh "
     "theo quy định; nộp một bộ tại bộ phận một cửa hoặc trực tuyến trên Cổng Dịch vụ công."),
    ("{p} ở đâu?", "Ông/Bà nộp hồ sơ {p} tại trung tâm phục vụ hành chính công của tỉnh hoặc UBND cấp xã nơi cư trú, "
     "hoặc trực tuyến; cán bộ tiếp nhận sẽ hướng dẫn nếu hồ sơ chưa đầy đủ."),
    ("{p} mất bao lâu?", "Thời hạn giải quyết {p} được niêm yết công khai, thường từ 3 đến 15 ngày làm việc kể từ khi "
     "nhận đủ hồ sơ hợp lệ; quá hạn cơ quan phải xin lỗi bằng văn bản."),
    ("Lệ phí {p} là bao nhiêu?", "Lệ phí {p} theo quy định của Bộ Tài chính hoặc nghị quyết của HĐND tỉnh, được niêm "
     "yết tại nơi tiếp nhận; một số đối tượng chính sách được miễn, giảm."),
    ("Có thể {p} trực tuyến không?", "Có. Ông/Bà đăng nhập Cổng Dịch vụ công bằng tài khoản VNeID mức 2, điền tờ "
     "khai {p}, tải giấy tờ lên và theo dõi kết quả bằng mã hồ sơ."),
    ("Ai được {p}?", "Đối tượng {p} là cá nhân, tổ chức đáp ứng điều kiện của văn bản quy phạm pháp luật chuyên "
     "ngành; cán bộ một cửa sẽ kiểm tra điều kiện khi tiếp nhận."),
    ("Mẫu tờ khai {p} lấy ở đâu?", "Mẫu tờ khai {p} có trên Cổng Dịch vụ công và tại quầy một cửa; có thể khai "
     "trực tuyến, không phải mua mẫu."),
    ("Hồ sơ {p} bị từ chối thì làm gì?", "Cơ quan phải trả lời bằng văn bản, nêu rõ lý do từ chối {p}; Ông/Bà có "
     "thể bổ sung hồ sơ hoặc khiếu nại theo quy định."),
    ("Kết quả {p} nhận ở đâu?", "Kết quả {p} được trả tại bộ phận một cửa, qua bưu chính công ích hoặc bản điện "
     "tử trên Cổng Dịch vụ công, theo lựa chọn khi nộp hồ sơ."),
    ("Có được ủy quyền {p} không?", "Được, trừ trường hợp pháp luật yêu cầu đích thân có mặt; người được ủy quyền "
     "mang văn bản ủy quyền và giấy tờ tùy thân khi {p}."),
]
PROVINCES = ["ha_noi", "hue", "lao_cai", "da_nang", "can_tho", "quang_ninh", "nghe_an", "khanh_hoa", "an_giang",
             "dong_nai", "gia_lai", "thai_nguyen"]


def synthetic(n: int, path: Path) -> None:
    rnd = random.Random(7)
    with path.open("w", encoding="utf-8") as f:
        i = 0
        for prov in PROVINCES:
            for p in PROCEDURES:
                for q, a in FACETS:
                    if i >= n:
                        return
                    name = prov.replace("_", " ").title()
                    f.write(json.dumps({
                        "id": f"syn.{i:05d}", "question": q.format(p=p).capitalize().replace("?", f" tại {name}?"),
                        "answer": a.format(p=p) + f" (Áp dụng tại {name}, cập nhật {rnd.randint(1, 28)}/"
                                                   f"{rnd.randint(1, 12)}/2026.)",
                        "topic": p.split()[0], "unit": f"p.{prov}", "source": "dữ liệu tổng hợp cho đo tốc độ"},
                        ensure_ascii=False) + "\n")
                    i += 1
    if i < n:
        raise SystemExit(f"only {i} synthetic entries possible")


async def ask_rate(nlu: BuiltinNlu, questions: list[str], total: int) -> tuple[float, float]:
    for q in questions[:50]:  # warm-up (typo-repair caches etc.)
        await nlu.understand(q)
    n, t0 = 0, time.perf_counter()
    while n < total:
        for q in questions:
            await nlu.understand(q)
            n += 1
            if n >= total:
                break
    dt = time.perf_counter() - t0
    return n / dt, dt / n * 1000


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--questions", type=int, default=5_000)
    ap.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    args = ap.parse_args()
    questions = [it.text for f in sorted((NLU_DIR / "eval").glob("*.tsv")) for it in read_eval(f)]

    t0 = time.perf_counter()
    seed = BuiltinNlu.from_entries(read_entries(NLU_DIR / "kb" / "seed.jsonl"), NLU_DIR)
    build_seed = time.perf_counter() - t0
    rate, ms = await ask_rate(seed, questions, args.questions)
    print(f"seed KB ({len(seed._retriever or [])} entries): built in {build_seed:.2f} s (incl. loading "  # noqa: SLF001
          f"underthesea and training intents); {rate:,.0f} questions/s, {ms:.3f} ms/question "
          f"({args.questions} questions, one process, one at a time)")

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        engine = create_engine_async(url)
        try:
            async with engine.begin() as conn:
                from bot.store.tables import kb_entries

                await conn.execute(kb_entries.delete())
            path = Path(tmp) / "synthetic.jsonl"
            synthetic(args.entries, path)
            t0 = time.perf_counter()
            entries = read_entries(path)
            t_parse = time.perf_counter() - t0
            result = await store_entries(engine, entries)
            t_import = time.perf_counter() - t0
            nlu = BuiltinNlu(engine, NLU_DIR)
            t1 = time.perf_counter()
            await nlu.reload()
            t_index = time.perf_counter() - t1
            print(f"{args.entries:,} synthetic Q&A on {engine.dialect.name}: import {t_import:.1f} s (parse+check "
                  f"{t_parse:.1f} s, {result.inserted} inserted), index {t_index:.1f} s (read back, segment, build); "
                  f"total {t_import + t_index:.1f} s")
            synth_q = [e.question.lower().replace("?", "") for e in entries[:: max(1, len(entries) // 500)]]
            rate, ms = await ask_rate(nlu, questions + synth_q, args.questions)
            print(f"{args.entries:,}-entry KB: {rate:,.0f} questions/s, {ms:.3f} ms/question")
            await nlu.close()
        finally:
            await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
