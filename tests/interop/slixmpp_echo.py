"""The TCP peer for the browser interop test: slixmpp logs in over STARTTLS with SCRAM-SHA-256,
answers every "ping X" with "pong X" to the sender's full JID, and exits 0 after answering all
the tags named on the command line. Prints READY once online, so the test knows when to start."""

import asyncio
import sys

from herald_client import HeraldClient, arguments


class Echo(HeraldClient):
    def __init__(self, jid, password, cafile, expected):
        super().__init__(jid, password, cafile)
        self.expected = set(expected)
        self.finished = asyncio.Event()
        self.add_event_handler("session_start", self.on_ready)
        self.add_event_handler("message", self.on_message)

    async def on_ready(self, _event):
        await self.started.wait()
        print("READY", flush=True)

    def on_message(self, msg):
        body = msg["body"]
        if body.startswith("ping "):
            tag = body[len("ping "):]
            self.send_message(mto=msg["from"], mbody=f"pong {tag}", mtype="chat")
            print(f"answered {tag} from {msg['from']}", flush=True)
            self.expected.discard(tag)
            if not self.expected:
                self.finished.set()


async def main():
    args = arguments(lambda p: p.add_argument("--expect", action="append", required=True))
    client = Echo(f"alice@{args.domain}/tcp", args.password, args.cafile, args.expect)
    client.connect(args.host, args.port)
    try:
        await asyncio.wait_for(client.finished.wait(), 150)
    except asyncio.TimeoutError:
        print(f"FAIL: never pinged for {sorted(client.expected)}", flush=True)
        sys.exit(1)
    await asyncio.sleep(0.5)
    client.disconnect()
    await client.disconnected
    print("PASS", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
