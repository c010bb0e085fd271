"""The TCP peer for the browser interop test: slixmpp logs in over STARTTLS with SCRAM-SHA-256,
answers every "ping X" with "pong X" to the sender's full JID, and exits 0 after answering all
the tags named on the command line. Prints READY once online, so the test knows when to start."""

import argparse
import asyncio
import ssl
import sys

import slixmpp


class Echo(slixmpp.ClientXMPP):
    def __init__(self, jid, password, cafile, expected):
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        self.ssl_context = ssl.create_default_context(cafile=cafile)
        self.expected = set(expected)
        self.finished = asyncio.Event()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)

    async def on_start(self, _event):
        self.send_presence()
        await self.get_roster()
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
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--domain", default="localhost")
    parser.add_argument("--password", required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--expect", action="append", required=True)
    args = parser.parse_args()
    client = Echo(f"alice@{args.domain}/tcp", args.password, args.cafile, args.expect)
    client.connect("127.0.0.1", args.port)
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
