"""Foreign-client check of Herald's contact-center notifications and their access control, with
slixmpp's XEP-0060 plugin over TCP (STARTTLS) and Python's own HTTPS client for the REST side.

Supervisor 2001 subscribes to /finesse/api/Team/1/Users and receives the <user> Update when agent
1002 signs in through REST; agent 1003 is refused a subscription to another agent's node and to
the team's node, and receives nothing of theirs; agent 1004 never subscribes and still receives
its own User Updates (the server subscribed it). Exits 0 and prints PASS when every step happened;
exits 1 naming the step that did not.
"""

import asyncio
import base64
import http.client
import ssl
import xml.etree.ElementTree as ET

from herald_client import STEP_TIMEOUT, HeraldClient, arguments, fail, login, step
from slixmpp.exceptions import IqError


def extra(parser):
    parser.add_argument("--api", type=int, required=True, help="the REST listener's port")


class Desk(HeraldClient):
    """A client that decodes every Finesse notification it receives into (node, Update)."""

    def __init__(self, jid, password, cafile):
        super().__init__(jid, password, cafile, plugins=("xep_0030", "xep_0060"))
        self.updates = asyncio.Queue()
        self.seen = []
        self.add_event_handler("pubsub_publish", self._on_publish)

    def _on_publish(self, msg):
        node = msg["pubsub_event"]["items"]["node"]
        for el in msg.xml.iter():
            if el.tag == "notification" or el.tag.endswith("}notification"):
                update = ET.fromstring(el.text or "")
                self.seen.append((node, update))
                self.updates.put_nowait((node, update))


def text(update, path):
    el = update.find(path)
    return None if el is None else (el.text or "")


def rest(args, user, method, path, body, request_id):
    """One REST request over HTTPS trusting only Herald's certificate; returns (status, headers, body)."""
    context = ssl.create_default_context(cafile=args.cafile)
    conn = http.client.HTTPSConnection("localhost", args.api, context=context, timeout=STEP_TIMEOUT)
    token = base64.b64encode(f"{user}:{args.password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": "application/xml", "requestId": request_id}
    try:
        conn.request(method, path, body=body.encode(), headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


async def sign_in(args, agent, request_id):
    body = f"<User><state>LOGIN</state><extension>{agent}</extension></User>"
    status, headers, answer = await asyncio.to_thread(rest, args, agent, "PUT", f"/finesse/api/User/{agent}", body, request_id)
    if status != 202:
        fail(f"REST LOGIN of {agent} answered {status}: {answer}")
    echoed = {k.lower(): v for k, v in headers.items()}.get("requestid")
    if echoed != request_id:
        fail(f"REST LOGIN of {agent} did not echo the requestId: {headers}")


async def next_update(client, what, predicate):
    async def wait():
        while True:
            node, update = await client.updates.get()
            if predicate(node, update):
                return node, update

    return await step(what, wait())


async def refused(client, what, service, node):
    try:
        await asyncio.wait_for(client.plugin["xep_0060"].subscribe(service, node, bare=False), STEP_TIMEOUT)
    except IqError as err:
        return err.iq["error"]["condition"]
    except asyncio.TimeoutError:
        fail(f"{what}: no answer within {STEP_TIMEOUT} s")
    fail(f"{what}: the subscription was accepted")


async def main():
    args = arguments(extra)
    service = f"pubsub.{args.domain}"

    async def connect(user):
        return await login(args, Desk(f"{user}@{args.domain}/slixmpp", args.password, args.cafile))

    supervisor = await connect("2001")
    intruder = await connect("1003")
    quiet = await connect("1004")

    team_node = "/finesse/api/Team/1/Users"
    await step("supervisor subscribes to its team", supervisor.plugin["xep_0060"].subscribe(service, team_node, bare=False))
    await sign_in(args, "1002", "py-1002-login")
    node, update = await next_update(
        supervisor,
        "the supervisor receives 1002's sign-in on the team node",
        lambda n, u: n == team_node and text(u, "source") == "/finesse/api/User/1002",
    )
    if text(update, "event") != "PUT" or update.find("data/user") is None:
        fail(f"team Update has the wrong shape: {ET.tostring(update).decode()}")
    if text(update, "data/user/loginId") != "1002" or text(update, "data/user/state") != "NOT_READY":
        fail(f"team Update does not show 1002 NOT_READY: {ET.tostring(update).decode()}")

    other = await refused(intruder, "1003 subscribes to 1004's User node", service, "/finesse/api/User/1004")
    team = await refused(intruder, "1003 subscribes to the team node", service, team_node)

    await sign_in(args, "1004", "py-1004-login")
    node, update = await next_update(
        quiet, "1004 receives its own User Update without subscribing", lambda n, u: n == "/finesse/api/User/1004"
    )
    if text(update, "requestId") != "py-1004-login" or text(update, "data/user/state") != "NOT_READY":
        fail(f"1004's own Update is wrong: {ET.tostring(update).decode()}")

    # 1003 saw none of this: only its own nodes (and SystemInfo) may reach it.
    await asyncio.sleep(0.5)
    leaked = [n for n, _ in intruder.seen if n not in ("/finesse/api/User/1003", "/finesse/api/User/1003/Dialogs", "/finesse/api/SystemInfo")]
    if leaked:
        fail(f"1003 received notifications from {leaked}")

    for c in (supervisor, intruder, quiet):
        c.disconnect()
    await asyncio.gather(supervisor.disconnected, intruder.disconnected, quiet.disconnected)
    print(f"PASS: team Update to the supervisor, agent subscriptions refused ({other}, {team}), automatic subscription", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
