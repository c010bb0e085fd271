"""Foreign-client check of Herald's publish-subscribe service, driven by slixmpp's XEP-0060 plugin.

alice creates a node (with a configuration form) and publishes; bob subscribes, receives the
notifications with their payloads, reads the items, sees a retraction, and after unsubscribing
receives nothing more; carol is told a whitelist node does not exist. Exits 0 and prints PASS when every
step happened; exits 1 naming the step that did not.
"""

import asyncio
import xml.etree.ElementTree as ET

from herald_client import STEP_TIMEOUT, HeraldClient, arguments, fail, login, step
from slixmpp.exceptions import IqError

NS = "urn:herald:test"


class Client(HeraldClient):
    def __init__(self, jid, password, cafile):
        super().__init__(jid, password, cafile, plugins=("xep_0004", "xep_0030", "xep_0060"))
        self.published = asyncio.Queue()
        self.retracted = asyncio.Queue()
        self.add_event_handler("pubsub_publish", self.published.put_nowait)
        self.add_event_handler("pubsub_retract", self.retracted.put_nowait)


def payload(state):
    el = ET.Element(f"{{{NS}}}state")
    el.text = state
    return el


def state_of(item):
    el = item.xml.find(f"{{{NS}}}state")
    return None if el is None else el.text


async def connect(args, user):
    return await login(args, Client(f"{user}@{args.domain}", args.password, args.cafile))


async def main():
    args = arguments()
    service = f"pubsub.{args.domain}"
    node = "/desk/api/User/alice"  # /finesse/ names are the server's own

    alice = await connect(args, "alice")
    bob = await connect(args, "bob")
    carol = await connect(args, "carol")

    # Discovery: the server lists the pubsub service, which says what it supports.
    items = await step("disco#items on the server", alice["xep_0030"].get_items(jid=args.domain))
    if service not in [i[0] for i in items["disco_items"]["items"]]:
        fail("the server does not list the pubsub service")
    info = await step("disco#info on pubsub", alice["xep_0030"].get_info(jid=service))
    if "http://jabber.org/protocol/pubsub#publish" not in info["disco_info"]["features"]:
        fail("the pubsub service does not advertise publish")

    # Create with a configuration form.
    form = alice["xep_0004"].make_form("submit")
    form.add_field(var="pubsub#max_items", value="10")
    form.add_field(var="pubsub#title", value="alice's state")
    await step("create node", alice["xep_0060"].create_node(service, node, config=form))

    await step("bob subscribes", bob["xep_0060"].subscribe(service, node))
    await step("alice publishes", alice["xep_0060"].publish(service, node, id="s1", payload=payload("READY")))
    msg = await step("bob receives the notification", bob.published.get())
    got = msg["pubsub_event"]["items"]["item"]
    if got["id"] != "s1" or state_of(got["payload"] if hasattr(got, "payload") else got) not in ("READY", None):
        fail(f"unexpected notification {msg}")
    if "READY" not in str(msg):
        fail(f"the notification has no payload: {msg}")

    await step("alice publishes again", alice["xep_0060"].publish(service, node, payload=payload("NOT_READY")))
    msg = await step("bob receives the second notification", bob.published.get())
    if "NOT_READY" not in str(msg):
        fail(f"second notification has no payload: {msg}")

    result = await step("bob reads the items", bob["xep_0060"].get_items(service, node))
    ids = [i["id"] for i in result["pubsub"]["items"]]
    if len(ids) != 2 or ids[0] != "s1":
        fail(f"items are {ids}")
    one = await step("bob reads one item", bob["xep_0060"].get_item(service, node, "s1"))
    if "READY" not in str(one):
        fail("get_item lost the payload")

    await step("alice retracts", alice["xep_0060"].retract(service, node, "s1", notify=True))
    msg = await step("bob sees the retraction", bob.retracted.get())
    if "s1" not in str(msg):
        fail(f"retraction names the wrong item: {msg}")

    await step("bob unsubscribes", bob["xep_0060"].unsubscribe(service, node))
    await step("alice publishes after bob left", alice["xep_0060"].publish(service, node, payload=payload("TALKING")))
    await asyncio.sleep(0.5)
    if not bob.published.empty():
        fail("bob still received notifications after unsubscribing")

    # Access control: a whitelist node is hidden from carol: item-not-found, as a missing node.
    wl = alice["xep_0004"].make_form("submit")
    wl.add_field(var="pubsub#access_model", value="whitelist")
    await step("create whitelist node", alice["xep_0060"].create_node(service, "private", config=wl))
    try:
        await asyncio.wait_for(carol["xep_0060"].subscribe(service, "private"), STEP_TIMEOUT)
        fail("carol subscribed to a whitelist node")
    except IqError as err:
        if err.iq["error"]["condition"] != "item-not-found":
            fail(f"carol got {err.iq['error']['condition']}, expected item-not-found")

    for c in (alice, bob, carol):
        c.disconnect()
    await asyncio.gather(alice.disconnected, bob.disconnected, carol.disconnected)
    print("PASS: create, configure, subscribe, publish, receive, items, retract, unsubscribe, whitelist", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
