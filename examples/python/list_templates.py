#!/usr/bin/env python3
"""Lists microbot templates with stock grpcio and stubs generated from proto/.

    ./setup.sh                       # venv + stubs in gen/
    .venv/bin/python list_templates.py --socket /run/microbot/control.sock

gRPC's C core sends the socket *path* as the HTTP/2 `:authority` of a
`unix:` channel, which the daemon's HTTP/2 layer refuses (the call fails with
"Received RST_STREAM with error code 1"). Setting the channel option
`grpc.default_authority` to "localhost" is the whole fix.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402
from microbot.v1 import templates_pb2, templates_pb2_grpc  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket", default="/run/microbot/control.sock")
    ap.add_argument("--account", default="", help="only this account's templates")
    args = ap.parse_args()
    channel = grpc.insecure_channel(
        f"unix:{args.socket}",
        options=[("grpc.default_authority", "localhost")],
    )
    stub = templates_pb2_grpc.TemplatesStub(channel)
    try:
        resp = stub.ListTemplates(
            templates_pb2.ListTemplatesRequest(account=args.account), timeout=10
        )
    except grpc.RpcError as e:
        print(f"ListTemplates failed: {e.code().name}: {e.details()}", file=sys.stderr)
        return 1
    rows = [
        {
            "id": t.id,
            "account": t.account,
            "name": t.name,
            "schedule": f"{t.schedule_kind} {t.schedule_expr}",
            "timezone": t.timezone,
            "active": t.active,
            "chats": list(t.chats),
        }
        for t in resp.templates
    ]
    json.dump(rows, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
