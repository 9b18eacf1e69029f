#!/usr/bin/env python3
"""Lists the daemon's gRPC services through server reflection, as
`grpcurl -unix -authority localhost -plaintext SOCKET list` does.

grpcio-reflection's client asks `grpc.reflection.v1alpha`; the daemon serves
that and `grpc.reflection.v1`.

    .venv/bin/python list_services.py --socket /run/microbot/control.sock
"""

import argparse
import sys

import grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket", default="/run/microbot/control.sock")
    args = ap.parse_args()
    channel = grpc.insecure_channel(
        f"unix:{args.socket}",
        options=[("grpc.default_authority", "localhost")],
    )
    try:
        services = ProtoReflectionDescriptorDatabase(channel).get_services()
    except grpc.RpcError as e:
        print(f"reflection failed: {e.code().name}: {e.details()}", file=sys.stderr)
        return 1
    for name in sorted(services):
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
