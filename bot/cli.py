"""``hailong``: one command line for the server, the database, flows, a terminal chat, scores and exports."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Sequence

from admin_api.cli import register as register_admin

from .analytics.cli import register as register_analytics
from .campaigns.cli import register as register_campaigns
from .settings import REPO_ROOT, Settings


def _settings() -> Settings:
    return Settings.from_env()


def cmd_run(args: argparse.Namespace) -> int:
    from .app import serve

    overrides = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    settings = Settings.from_env(**overrides)
    if args.workers > 1:
        from .workers import supervise

        return supervise(settings, args.workers)
    serve(settings)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from .store.migrate import upgrade

    url = _settings().effective_database_url
    upgrade(url)
    print(f"database is at the latest schema ({_redact(url)})")
    return 0


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_flows_validate(args: argparse.Namespace) -> int:
    from .flows import validate_flow_file

    files: list[Path] = []
    for p in map(Path, args.paths):
        files += sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml")) if p.is_dir() else [p]
    if not files:
        print("no flow files found", file=sys.stderr)
        return 2
    bad = 0
    for f in files:
        errors = validate_flow_file(f)
        for e in errors:
            print(e)
        if errors:
            bad += 1
        else:
            print(f"{f}: ok")
    return 1 if bad else 0


async def _with_services(fn):  # type: ignore[no-untyped-def]
    from .services import build_services

    services = build_services(_settings())
    try:
        return await fn(services)
    finally:
        await services.close()


def cmd_flows_load(args: argparse.Namespace) -> int:
    from .flows import FlowInvalid
    from .store.flows_repo import load_directory

    directory = Path(args.directory) if args.directory else _settings().flows_dir

    async def run(s):  # type: ignore[no-untyped-def]
        return await load_directory(s.engine, directory)

    try:
        outcomes = asyncio.run(_with_services(run))
    except FlowInvalid as e:
        print(e, file=sys.stderr)
        return 1
    failed = 0
    for o in outcomes:
        print(f"{o.flow_id} v{o.version}: {o.action}" + (f" — {o.message}" if o.message else ""))
        failed += o.action == "conflict"
    return 1 if failed else 0


def cmd_flows_list(args: argparse.Namespace) -> int:
    async def run(s):  # type: ignore[no-untyped-def]
        return await s.flows.open_flows()

    flows = asyncio.run(_with_services(run))
    if args.json:
        print(json.dumps([{"id": f.id, "version": f.version, "title": f.title, "questions": len(f.questions)}
                          for f in flows], ensure_ascii=False))
    else:
        for f in flows:
            print(f"{f.id}\tv{f.version}\t{len(f.questions)} câu\t{f.title}")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from channels.console import run_console

    context = dict(kv.split("=", 1) for kv in args.context or [])
    return asyncio.run(run_console(_settings(), flow=args.flow, context=context, invitation=args.ref))


def cmd_invite(args: argparse.Namespace) -> int:
    from .invitations import create_invitations, invitation_links

    context = dict(kv.split("=", 1) for kv in args.context or [])

    async def run(s):  # type: ignore[no-untyped-def]
        return await create_invitations(s, flow_id=args.flow, count=args.count, unit=args.unit, context=context)

    try:
        codes = asyncio.run(_with_services(run))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    settings = _settings()
    rows = [{"code": code, **invitation_links(settings, code)} for code in codes]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    channels = [c for c in ("web", "telegram", "messenger", "zalo") if c in rows[0]]
    print("\t".join(["code", *channels]))
    for row in rows:
        print("\t".join([row["code"], *(row[c] for c in channels)]))
    if "zalo" in channels:
        print("# Zalo: the user opens the OA link and sends the code as a message", file=sys.stderr)
    return 0


def cmd_outbox_failed(args: argparse.Namespace) -> int:
    from .store.outbox_repo import OutboxRepo

    async def run(s):  # type: ignore[no-untyped-def]
        return await OutboxRepo(s.engine, s.sealer).failed(args.limit)

    rows = asyncio.run(_with_services(run))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return 0
    for r in rows:
        print(f"{r['id']}\t{r['channel']}\t{r['respondent_id']}\tseq {r['seq']}\t{r['attempts']} attempts\t{r['last_error']}")
    if not rows:
        print("no failed messages")
    return 0


def cmd_outbox_retry(args: argparse.Namespace) -> int:
    from .store.outbox_repo import OutboxRepo

    async def run(s):  # type: ignore[no-untyped-def]
        return await OutboxRepo(s.engine, s.sealer).requeue(args.ids)

    n = asyncio.run(_with_services(run))
    print(f"{n} messages queued again")
    return 0


def cmd_platforms_status(args: argparse.Namespace) -> int:
    """Which platforms are on, and the webhook address each platform's console needs."""
    settings = _settings()
    checks = {
        "zalo": (settings.zalo_enabled, "HAILONG_ZALO_APP_ID, _APP_SECRET, _OA_SECRET_KEY, _REFRESH_TOKEN"),
        "messenger": (settings.messenger_enabled, "HAILONG_MESSENGER_APP_SECRET, _VERIFY_TOKEN, _PAGE_TOKEN"),
        "telegram": (settings.telegram_enabled, "HAILONG_TELEGRAM_TOKEN, HAILONG_TELEGRAM_SECRET"),
    }
    for name, (on, needs) in checks.items():
        if on:
            print(f"{name}\ton\twebhook {settings.base_url}/webhooks/{name}")
        else:
            print(f"{name}\toff\tneeds {needs}")
    if not settings.public_url:
        print("# set HAILONG_PUBLIC_URL to the https address platforms can reach", file=sys.stderr)
    return 0


def cmd_platforms_telegram_webhook(args: argparse.Namespace) -> int:
    """Registers <public url>/webhooks/telegram and the secret with the Bot API (setWebhook)."""
    settings = _settings()
    if not settings.telegram_enabled:
        print("error: set HAILONG_TELEGRAM_TOKEN and HAILONG_TELEGRAM_SECRET first", file=sys.stderr)
        return 2
    from channels.telegram import TelegramSender

    async def run() -> bool:
        sender = TelegramSender(settings.telegram_token, base_url=f"{settings.telegram_api_base.rstrip('/')}/bot")
        try:
            return await sender.set_webhook(f"{settings.base_url}/webhooks/telegram", settings.telegram_secret)
        finally:
            await sender.close()

    try:
        ok = asyncio.run(run())
    except Exception as e:  # the Bot API's refusal, in its own words
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"webhook {'set' if ok else 'NOT set'}: {settings.base_url}/webhooks/telegram")
    return 0 if ok else 1


def cmd_qa_list(args: argparse.Namespace) -> int:
    from .qa import list_tickets

    async def run(s):  # type: ignore[no-untyped-def]
        scope = s.units.lineage(args.unit) if args.unit else None
        return await list_tickets(s, status=None if args.status == "all" else args.status, scope=scope)

    rows = asyncio.run(_with_services(run))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return 0
    for r in rows:
        waiting = f"{r['waiting_hours']} h" if r["waiting_hours"] is not None else "-"
        print(f"{r['id']}\t{r['status']}\t{r['unit_code'] or '-'}\t{r['channel']}\twaiting {waiting}\t{r['text'][:80]}")
    if not rows:
        print("no questions")
    return 0


def cmd_qa_answer(args: argparse.Namespace) -> int:
    from .qa import TicketError, answer_ticket

    async def run(s):  # type: ignore[no-untyped-def]
        return await answer_ticket(s, args.ticket, args.answer, publish=args.publish)

    try:
        done = asyncio.run(_with_services(run))
    except TicketError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"answered {done.ticket_id}; delivered as message {done.delivered_seq}"
          + (f"; published to the knowledge base as {done.kb_id}" if done.kb_id else ""))
    return 0


def cmd_expire(args: argparse.Namespace) -> int:
    from .invitations import expire_stale

    async def run(s):  # type: ignore[no-untyped-def]
        return await expire_stale(s)

    n = asyncio.run(_with_services(run))
    print(f"{n} responses marked expired")
    return 0


def _needs_schema(fn):  # type: ignore[no-untyped-def]
    """kb/nlu commands: a database without the kb_entries table gets a hint, not a traceback."""
    import functools

    @functools.wraps(fn)
    def wrapper(args: argparse.Namespace) -> int:
        from sqlalchemy.exc import OperationalError, ProgrammingError

        try:
            return fn(args)
        except (OperationalError, ProgrammingError) as e:
            print(f"error: {e.orig if e.orig is not None else e}\n(is the database migrated? hailong db upgrade)",
                  file=sys.stderr)
            return 2
    return wrapper


@_needs_schema
def cmd_kb_import(args: argparse.Namespace) -> int:
    from .nlu.kb import KbImportError, read_entries, store_entries

    path = Path(args.file)
    try:
        entries = read_entries(path)
    except KbImportError as e:
        for err in e.errors:
            print(err, file=sys.stderr)
        print(f"nothing imported: {len(e.errors)} error{'s' if len(e.errors) != 1 else ''}", file=sys.stderr)
        return 1

    async def run(s):  # type: ignore[no-untyped-def]
        return await store_entries(s.engine, entries, replace=args.replace)

    result = asyncio.run(_with_services(run))
    print(f"{path}: {result.summary()}")
    return 0


@_needs_schema
def cmd_kb_list(args: argparse.Namespace) -> int:
    from .nlu.kb import load_entries

    async def run(s):  # type: ignore[no-untyped-def]
        return await load_entries(s.engine)

    entries = [e for e in asyncio.run(_with_services(run)) if not args.topic or e.topic == args.topic]
    if args.json:
        for e in entries:
            print(json.dumps(e.to_json(), ensure_ascii=False))
        return 0
    for e in entries:
        print(f"{e.id}\t{e.topic or '-'}\t{e.unit or '-'}\t{e.question}")
    if not entries:
        print("the knowledge base is empty: hailong kb import nlu_data/kb/seed.jsonl", file=sys.stderr)
    return 0


def _print_understanding(u, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        print(json.dumps(u.to_json(), ensure_ascii=False), flush=True)
        return
    print(f"{u.text}\n  intent {u.intent} ({u.confidence:.2f})")
    if u.answer:
        print(f"  answer {u.answer_id}: {u.matched_question}\n    {u.answer}")
    elif u.escalate:
        print("  not sure: forward to officials")
    for c in u.candidates if not u.answer else ():
        print(f"  did you mean ({c.score:.2f}) {c.answer_id}: {c.question}")
    sys.stdout.flush()


@_needs_schema
def cmd_nlu_ask(args: argparse.Namespace) -> int:
    from .nlu.builtin import BuiltinNlu

    async def run(s):  # type: ignore[no-untyped-def]
        nlu = BuiltinNlu(s.engine, Path(args.data))
        await nlu.reload()
        try:
            if args.text:
                _print_understanding(await nlu.understand(" ".join(args.text), unit=args.unit), args.json)
                return 0
            for line in sys.stdin:
                if line.strip():
                    _print_understanding(await nlu.understand(line.rstrip("\r\n"), unit=args.unit), args.json)
            return 0
        finally:
            await nlu.close()

    return asyncio.run(_with_services(run))


@_needs_schema
def cmd_nlu_eval(args: argparse.Namespace) -> int:
    from .nlu.evaluate import BackendUnavailable, EvalFileError, evaluate, format_reports, make_backend, read_eval

    try:
        items = [it for f in args.files for it in read_eval(Path(f))]
    except (EvalFileError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.backend.split(",") if n.strip()]

    async def run(s):  # type: ignore[no-untyped-def]
        reports, skipped = [], {}
        for name in names:
            try:
                backend = await make_backend(name, s.engine, Path(args.data))
            except BackendUnavailable as e:
                skipped[name] = str(e)
                continue
            try:
                reports.append(await evaluate(backend, items, name=name))
            finally:
                await backend.close()
        return reports, skipped

    reports, skipped = asyncio.run(_with_services(run))
    if args.json:
        print(json.dumps({"backends": [r.metrics() for r in reports], "skipped": skipped,
                          "misses": {r.backend: r.misses() for r in reports}}, ensure_ascii=False, indent=2))
    else:
        print(format_reports(reports, skipped, misses=not args.no_misses))
    return 0 if reports else 1


@_needs_schema
def cmd_nlu_calibrate(args: argparse.Namespace) -> int:
    from .nlu.calibration import Calibration, calibrate
    from .nlu.evaluate import EvalFileError, read_eval
    from .nlu.intents import load_nlu_yaml
    from .nlu.kb import load_entries
    from .nlu.normalize import load_synonyms

    data = Path(args.data)
    try:
        items = read_eval(Path(args.file))
    except (EvalFileError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    async def run(s):  # type: ignore[no-untyped-def]
        return await load_entries(s.engine)

    entries = asyncio.run(_with_services(run))
    if not entries:
        print("error: the knowledge base is empty (hailong kb import FILE first)", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else data / "calibration.json"
    current = Calibration.load(out)
    negatives = [t for name, texts in load_nlu_yaml(data / "nlu.yml").items()
                 if name in ("greeting", "stop", "thanks") for t in texts]
    cal = calibrate(entries, items, load_synonyms(data / "synonyms.yml"), ranking=dict(current.ranking),
                    fitted_on=args.file, negatives=negatives, max_oos_answered=args.max_oos)
    cal.save(out)
    oof = cal.report.get("out_of_fold", {})
    print(f"{out}: answer at p >= {cal.answer_threshold}, suggest at p >= {cal.suggest_threshold}; out of fold on "
          f"{args.file}: {oof.get('answered_right', 0):.1%} answered right, {oof.get('answered_wrong', 0):.1%} "
          f"wrong, {oof.get('oos_answered', 0):.1%} of out-of-scope answered")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hailong", description="Hailong: surveys and Q&A in chat for public administration")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="serve the web chat, webhooks and APIs")
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    run.add_argument("--workers", type=int, default=1,
                     help="processes sharing the port (SO_REUSEPORT); needs PostgreSQL and Redis")
    run.set_defaults(fn=cmd_run)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="migrate HAILONG_DATABASE_URL to the latest schema").set_defaults(fn=cmd_db_upgrade)

    flows = sub.add_parser("flows", help="survey flows").add_subparsers(dest="flows_command", required=True)
    v = flows.add_parser("validate", help="check flow files; prints every error with file and line")
    v.add_argument("paths", nargs="+")
    v.set_defaults(fn=cmd_flows_validate)
    ld = flows.add_parser("load", help="store flow files in the database (every version is kept)")
    ld.add_argument("directory", nargs="?")
    ld.set_defaults(fn=cmd_flows_load)
    ls = flows.add_parser("list", help="open flows")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(fn=cmd_flows_list)

    chat = sub.add_parser("chat", help="take a survey in the terminal")
    chat.add_argument("flow", nargs="?")
    chat.add_argument("--ref", help="invitation code")
    chat.add_argument("--context", action="append", metavar="KEY=VALUE", help="link parameters, e.g. dossier=HS-1")
    chat.set_defaults(fn=cmd_chat)

    register_analytics(sub)
    register_campaigns(sub)
    register_admin(sub)

    inv = sub.add_parser("invite", help="create single-use invitation codes")
    inv.add_argument("--flow", required=True)
    inv.add_argument("--count", type=int, default=1)
    inv.add_argument("--unit")
    inv.add_argument("--context", action="append", metavar="KEY=VALUE")
    inv.add_argument("--json", action="store_true", help="print codes and links per channel as JSON")
    inv.set_defaults(fn=cmd_invite)

    pl = sub.add_parser("platforms", help="chat platforms: status and webhook registration").add_subparsers(
        dest="platforms_command", required=True)
    pl.add_parser("status", help="which platforms are on and their webhook addresses").set_defaults(
        fn=cmd_platforms_status)
    pl.add_parser("telegram-webhook", help="register this server's Telegram webhook and secret").set_defaults(
        fn=cmd_platforms_telegram_webhook)

    qa = sub.add_parser("qa", help="questions forwarded to officials").add_subparsers(dest="qa_command", required=True)
    ql = qa.add_parser("list", help="questions waiting for an answer (oldest first)")
    ql.add_argument("--status", default="open", choices=["open", "assigned", "answered", "published", "closed", "all"])
    ql.add_argument("--unit", help="only this unit and its predecessors/sub-units")
    ql.add_argument("--json", action="store_true")
    ql.set_defaults(fn=cmd_qa_list)
    qa_answer = qa.add_parser("answer", help="answer a question: it is delivered in the chat it came from")
    qa_answer.add_argument("ticket")
    qa_answer.add_argument("answer")
    qa_answer.add_argument("--publish", action="store_true", help="also add it to the knowledge base")
    qa_answer.set_defaults(fn=cmd_qa_answer)

    ob = sub.add_parser("outbox", help="platform messages that could not be delivered").add_subparsers(
        dest="outbox_command", required=True)
    failed = ob.add_parser("failed", help="list messages that finally failed, newest first")
    failed.add_argument("--limit", type=int, default=100)
    failed.add_argument("--json", action="store_true")
    failed.set_defaults(fn=cmd_outbox_failed)
    retry = ob.add_parser("retry", help="queue failed messages again (after fixing the cause)")
    retry.add_argument("ids", nargs="+", type=int)
    retry.set_defaults(fn=cmd_outbox_retry)

    kb = sub.add_parser("kb", help="the knowledge base of official questions and answers").add_subparsers(
        dest="kb_command", required=True)
    ki = kb.add_parser("import", help="load official Q&A from JSONL, CSV or XLSX; importing again updates by id")
    ki.add_argument("file")
    ki.add_argument("--replace", action="store_true", help="also remove entries that are not in the file")
    ki.set_defaults(fn=cmd_kb_import)
    kl = kb.add_parser("list", help="the entries: id, topic, unit, question")
    kl.add_argument("--topic")
    kl.add_argument("--json", action="store_true", help="one JSON object per line")
    kl.set_defaults(fn=cmd_kb_list)

    nlu_dir = str(REPO_ROOT / "nlu_data")
    nlu = sub.add_parser("nlu", help="language understanding: ask, evaluate, calibrate").add_subparsers(
        dest="nlu_command", required=True)
    ask = nlu.add_parser("ask", help="what the bot understands; TEXT or one question per line on standard input")
    ask.add_argument("text", nargs="*")
    ask.add_argument("--json", action="store_true", help="one JSON object per line (Understanding.to_json())")
    ask.add_argument("--unit", help="the respondent's unit, to prefer its own answers")
    ask.add_argument("--data", default=nlu_dir, help="nlu_data directory")
    ask.set_defaults(fn=cmd_nlu_ask)
    ev = nlu.add_parser("eval", help="accuracy, abstention and speed of each backend on TSV files")
    ev.add_argument("files", nargs="+", metavar="FILE", help="TSV: expected answer id or none <TAB> question")
    ev.add_argument("--backend", default="builtin", help="comma-separated, e.g. builtin,rasa")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--no-misses", action="store_true", help="figures only")
    ev.add_argument("--data", default=nlu_dir, help="nlu_data directory")
    ev.set_defaults(fn=cmd_nlu_eval)
    cal = nlu.add_parser("calibrate", help="refit answer probabilities and thresholds on a development TSV")
    cal.add_argument("file")
    cal.add_argument("--max-oos", type=float, default=0.04, help="share of out-of-scope questions allowed an answer")
    cal.add_argument("--out", help="default: <data>/calibration.json")
    cal.add_argument("--data", default=nlu_dir, help="nlu_data directory")
    cal.set_defaults(fn=cmd_nlu_calibrate)

    resp = sub.add_parser("responses", help="response housekeeping").add_subparsers(dest="responses_command", required=True)
    resp.add_parser("expire", help="mark unfinished responses past their flow's expiry as expired").set_defaults(fn=cmd_expire)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from .logs import setup_logging

    args = build_parser().parse_args(argv)
    setup_logging(_settings().log_level if args.command == "run" else "WARNING")
    return int(args.fn(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
