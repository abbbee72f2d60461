"""``hailong campaign``: list campaigns, print or export a participation table, run one sending
tick by hand (for an operator without the server running, or from cron)."""
from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

from .export import PARTICIPATION_HEADER, to_csv

T = TypeVar("T")


def _run(fn: Callable[[Any], Awaitable[T]]) -> T:
    from ..services import build_services
    from ..settings import Settings

    async def go() -> T:
        services = build_services(Settings.from_env())
        try:
            await services.flows.refresh()
            return await fn(services)
        finally:
            await services.close()
    return asyncio.run(go())


def cmd_list(args: argparse.Namespace) -> int:
    from .service import list_campaigns

    rows = _run(lambda s: list_campaigns(s, scope=None, limit=500, offset=0))
    for c in rows:
        print(f"{c['id']}\t{c['status']}\t{c['flow_id']}\t{c['invitees']}\t{c['name']}")
    return 0


def cmd_participation(args: argparse.Namespace) -> int:
    from .reports import participation

    rows = _run(lambda s: participation(s, args.campaign, scope=None))
    table = [(r.unit_code, r.unit_name, r.registered, r.reached, r.started, r.completed,
              "" if r.rate is None else r.rate) for r in rows]
    if args.csv:
        Path(args.csv).write_bytes(to_csv(PARTICIPATION_HEADER, table))
    elif args.json:
        print(json.dumps([r.to_json() for r in rows], ensure_ascii=False, indent=2))
    else:
        for line in [PARTICIPATION_HEADER, *table]:
            print("\t".join(str(v) for v in line))
    return 0


def cmd_send_due(args: argparse.Namespace) -> int:
    from .sender import send_due

    n = _run(lambda s: send_due(s, datetime.now(timezone.utc)))
    print(f"{n} messages queued")
    return 0


def register(sub: Any) -> None:
    """Adds ``hailong campaign ...`` to the command line."""
    camp = sub.add_parser("campaign", help="invitation campaigns").add_subparsers(dest="campaign_command",
                                                                                  required=True)
    camp.add_parser("list", help="every campaign: id, status, survey, people, name").set_defaults(fn=cmd_list)
    part = camp.add_parser("participation", help="registered, reached, started, completed and rate per unit")
    part.add_argument("campaign")
    part.add_argument("--json", action="store_true")
    part.add_argument("--csv", metavar="FILE", help="write CSV for Excel (UTF-8 with BOM)")
    part.set_defaults(fn=cmd_participation)
    camp.add_parser("send-due", help="queue the invitations and reminders due now (the server does this "
                                     "every few seconds)").set_defaults(fn=cmd_send_due)
