"""The Python side of the MCP feature probe (see feature-probe.ts, which runs this script).

Usage: python feature_probe.py URL ERA PLAN_JSON
  ERA:       2025-11-25 (Client mode='legacy') or 2026-07-28 (mode='auto', then the negotiated
             version must be 2026-07-28; a pinned mode without a prior discover would assume an
             empty server capability set).
  PLAN_JSON: {"names": NameTable, "inputs": INPUTS, "uris": ..., "resourcePrefix": str} from plan.ts.
Prints the raw outcomes as one JSON object; a feature that fails is reported as {"error": ...}.
"""

import json
import sys
import warnings

import anyio
import mcp_types as types
from mcp import Client

MODERN = "2026-07-28"
URL, ERA, PLAN = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
NAMES, INPUTS = PLAN["names"], PLAN["inputs"]
WAIT_S = INPUTS["waitMs"] / 1000
warnings.simplefilter("ignore")  # deprecation notes for 2025-only calls (subscribe, setLevel)


def dump(model):
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


def tool(name):
    return NAMES["tools"].get(name, name)


def prompt(name):
    return NAMES["prompts"].get(name, name)


def resource(uri):
    return NAMES["resources"].get(uri, uri)


def is_simulated_log(m):
    return isinstance(m.get("data"), str) and ("level message" in m["data"].lower() or "level-message" in m["data"].lower())


class Seen:
    def __init__(self):
        self.elicitations, self.sampling, self.logs, self.updated = [], [], [], []
        self.list_changed = 0


seen = Seen()


async def on_elicit(_ctx, params):
    p = dump(params)
    seen.elicitations.append(p)
    if p.get("mode") == "url":
        return types.ElicitResult(action="accept")
    return types.ElicitResult(action="accept", content=dict(INPUTS["elicitationAnswer"]))


async def on_sampling(_ctx, params):
    seen.sampling.append(dump(params))
    return types.CreateMessageResult.model_validate(INPUTS["samplingAnswer"])


async def on_roots(_ctx):
    return types.ListRootsResult(roots=[types.Root(**INPUTS["root"])])


async def on_log(params):
    seen.logs.append(dump(params))


async def on_message(message):
    method = getattr(message, "method", None)
    if method == "notifications/resources/updated":
        seen.updated.append(message.params.uri)
    elif method == "notifications/resources/list_changed":
        seen.list_changed += 1


async def wait_for(done, poll=None):
    with anyio.fail_after(WAIT_S):
        while not done():
            if poll is not None:
                await poll()
            await anyio.sleep(0.5)


async def probe(c: Client) -> dict:
    modern = c.protocol_version >= MODERN
    features = {}

    async def call(name, args=None):
        return await c.call_tool(tool(name), args or {})

    async def call_dump(name, args=None):
        return dump(await call(name, args))

    def text_of(r):
        return r.content[0].text if r.content and getattr(r.content[0], "text", None) is not None else ""

    async def toggle(name, want):
        text = text_of(await call(name))
        if not text.startswith(want):
            text = text_of(await call(name))
        return text

    async def run(feature, body):
        try:
            features[feature] = await body()
        except Exception as e:  # boundary: one failing feature must not hide the others
            features[feature] = {"error": f"{type(e).__name__}: {e}"}

    mapped_tools = set(NAMES["tools"].values())

    async def tools_list():
        with anyio.fail_after(WAIT_S):
            while True:
                listed = [t for t in (await c.list_tools(cache_mode="refresh")).tools if t.name in mapped_tools]
                if len(listed) == len(mapped_tools):
                    return [dump(t) for t in listed]
                await anyio.sleep(0.25)

    await run("tools/list", tools_list)
    await run("tool/text", lambda: call_dump("echo", INPUTS["echo"]))
    await run("tool/image", lambda: call_dump("get-tiny-image"))
    await run("tool/annotations", lambda: call_dump("get-annotated-message", INPUTS["annotated"]))
    await run("tool/resource-links", lambda: call_dump("get-resource-links", INPUTS["links"]))
    await run("tool/embedded-resource", lambda: call_dump("get-resource-reference", INPUTS["reference"]))
    await run("tool/structured-output", lambda: call_dump("get-structured-content", INPUTS["structured"]))

    async def progress():
        values, totals = [], []

        async def on_progress(p, total, _message):
            values.append(p)
            totals.append(total)

        result = await c.call_tool(tool("trigger-long-running-operation"), INPUTS["progress"], progress_callback=on_progress)
        return {"progress": values, "total": totals, "result": dump(result)}

    await run("progress", progress)

    async def cancellation():
        state = {"seen": 0, "finished": False}
        first = anyio.Event()

        async def on_progress(_p, _t, _m):
            state["seen"] += 1
            first.set()

        async def long_call():
            await c.call_tool(tool("trigger-long-running-operation"), INPUTS["cancel"], progress_callback=on_progress)
            state["finished"] = True

        async with anyio.create_task_group() as tg:
            tg.start_soon(long_call)
            with anyio.fail_after(WAIT_S):
                await first.wait()
            tg.cancel_scope.cancel()
        return {"progressSeen": state["seen"], "rejected": not state["finished"], "after": await call_dump("echo", INPUTS["echo"])}

    await run("cancellation", cancellation)

    async def logging():
        if not modern:
            await c.set_logging_level(INPUTS["logLevel"])
        started = await toggle("toggle-simulated-logging", "Started")
        try:
            # On 2026-07-28 a log line can only ride on a request that opted in (Client(log_level=...)).
            await wait_for(lambda: any(is_simulated_log(m) for m in seen.logs), lambda: call("echo", INPUTS["echo"]))
        finally:
            await toggle("toggle-simulated-logging", "Stopped")
        return {"started": started, "messages": [m for m in seen.logs if is_simulated_log(m)]}

    await run("logging", logging)

    async def with_request(record, name, args=None):
        result = await call_dump(name, args)
        return {"request": record[-1] if record else None, "result": result}

    await run("sampling", lambda: with_request(seen.sampling, "trigger-sampling-request", INPUTS["sampling"]))
    await run("elicitation/form", lambda: with_request(seen.elicitations, "trigger-elicitation-request"))
    await run("elicitation/url", lambda: with_request(seen.elicitations, "trigger-url-elicitation", INPUTS["urlElicitation"]))
    await run("roots", lambda: call_dump("get-roots-list"))

    async def resources_list():
        out = []
        for r in (await c.list_resources()).resources:
            d = dump(r)
            original = (d.get("_meta") or {}).get("dawn/uri", d["uri"])
            if original.startswith(PLAN["resourcePrefix"]):
                out.append(d)
        return out

    await run("resources/list", resources_list)
    uris = PLAN["uris"]
    static_doc, text_uri, blob_uri, subscribed = uris["staticDoc"], uris["templateText"], uris["templateBlob"], uris["subscribed"]
    async def read(uri):
        return dump(await c.read_resource(resource(uri), cache_mode="bypass"))

    await run("resources/read", lambda: read(static_doc))

    async def templates_list():
        wanted = set(NAMES["templates"].values())
        return [dump(t) for t in (await c.list_resource_templates()).resource_templates if t.uri_template in wanted]

    await run("resources/templates/list", templates_list)

    async def read_template():
        return [await read(text_uri), await read(blob_uri)]

    await run("resources/read-template", read_template)

    async def subscribe():
        uri = resource(subscribed)
        if modern:
            async with c.listen(resource_subscriptions=[uri]) as sub:
                try:
                    await toggle("toggle-subscriber-updates", "Started")
                    with anyio.fail_after(WAIT_S):
                        async for ev in sub:
                            if getattr(ev, "uri", None) == uri:
                                seen.updated.append(ev.uri)
                                break
                finally:
                    await toggle("toggle-subscriber-updates", "Stopped")
        else:
            await c.subscribe_resource(uri)
            try:
                await toggle("toggle-subscriber-updates", "Started")
                await wait_for(lambda: uri in seen.updated)
            finally:
                await toggle("toggle-subscriber-updates", "Stopped")
                await c.unsubscribe_resource(uri)
        return {"updated": [u for u in seen.updated if u == uri]}

    await run("resources/subscribe", subscribe)

    async def list_changed():
        if modern:
            async with c.listen(resources_list_changed=True) as sub:
                result = await call_dump("gzip-file-as-resource", INPUTS["gzip"])
                with anyio.fail_after(WAIT_S):
                    async for ev in sub:
                        if type(ev).__name__ == "ResourcesListChanged":
                            break
        else:
            before = seen.list_changed
            result = await call_dump("gzip-file-as-resource", INPUTS["gzip"])
            await wait_for(lambda: seen.list_changed > before)
        return {"notified": True, "result": result}

    await run("resources/list-changed", list_changed)

    async def prompts_list():
        wanted = set(NAMES["prompts"].values())
        return [dump(p) for p in (await c.list_prompts()).prompts if p.name in wanted]

    await run("prompts/list", prompts_list)
    async def get_prompt(name, args):
        return dump(await c.get_prompt(prompt(name), args))

    await run("prompts/get", lambda: get_prompt("args-prompt", INPUTS["argsPrompt"]))
    await run("prompts/get-embedded", lambda: get_prompt("resource-prompt", INPUTS["resourcePrompt"]))

    async def complete_prompt():
        ref = types.PromptReference(type="ref/prompt", name=prompt("completable-prompt"))
        ctx = INPUTS["completePromptWithContext"]
        return [
            dump(await c.complete(ref, INPUTS["completePrompt"]["argument"])),
            dump(await c.complete(ref, ctx["argument"], context_arguments=ctx["context"])),
        ]

    await run("completion/prompt", complete_prompt)

    async def complete_template():
        template = NAMES["templates"].get(PLAN["uris"]["textTemplate"], PLAN["uris"]["textTemplate"])
        ref = types.ResourceTemplateReference(type="ref/resource", uri=template)
        return dump(await c.complete(ref, INPUTS["completeTemplate"]["argument"]))

    await run("completion/template", complete_template)
    return features


async def main():
    async with Client(
        URL,
        mode="legacy" if ERA != MODERN else "auto",
        elicitation_callback=on_elicit,
        sampling_callback=on_sampling,
        list_roots_callback=on_roots,
        logging_callback=on_log,
        message_handler=on_message,
        log_level=INPUTS["logLevel"] if ERA == MODERN else None,
    ) as c:
        if ERA == MODERN and c.protocol_version != MODERN:
            raise SystemExit(f"ERA_NEGOTIATION_FAILED: the server at {URL} speaks {c.protocol_version}, not {MODERN}")
        features = await probe(c)
        print(json.dumps({"protocolVersion": c.protocol_version, "features": features}))


anyio.run(main)
