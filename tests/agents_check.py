"""The OpenAI Agents SDK and inspect_ai against a running medserve (their own venv: both need
openai 3.x). Usage: agents_check.py BASE_URL MODEL. Prints "agents checks passed".

Agents SDK (tracing disabled), on the Responses API and on chat completions: a forced
function tool run by the SDK, a plain answer, a streamed answer, and structured output from a
pydantic `output_type`. inspect_ai's `openai-api` provider with and without
`responses_api`: one sample generated and scored; /metrics shows which route served it.
"""
import asyncio
import os
import re
import sys
import tempfile

import httpx
from openai import AsyncOpenAI
from pydantic import BaseModel

base, model = sys.argv[1], sys.argv[2]
os.environ.setdefault("OPENAI_API_KEY", "not-needed")

from agents import (  # noqa: E402
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)

set_tracing_disabled(True)
client = AsyncOpenAI(base_url=base + "/v1", api_key="not-needed", max_retries=0)
medserve = {"medserve": {"retrieval": {"enabled": False}, "audience": "clinician"}}
calls = []


def route_count(route: str) -> float:
    text = httpx.get(base + "/metrics").text
    return sum(float(m.group(1)) for m in re.finditer(
        r'medserve_http_requests_total\{[^}]*route="' + re.escape(route) + r'"[^}]*\} ([0-9.e+]+)', text))


@function_tool
def body_mass_index(weight_kg: float, height_m: float) -> str:
    """Body mass index from weight in kilograms and height in metres."""
    calls.append((weight_kg, height_m))
    return f"BMI {weight_kg / (height_m * height_m):.1f}"


class Urgency(BaseModel):
    urgent: bool


async def agents(kind: str, make) -> None:
    # Room for the small model to end its answer: a response cut at max_output_tokens is
    # `incomplete`, which the SDK's streaming runner reports as an error (as it should).
    settings = ModelSettings(temperature=0, max_tokens=300, extra_body=medserve)
    forced = Agent(name="calc", instructions="Use the tool to compute the BMI.", model=make(),
                   tools=[body_mass_index], tool_use_behavior="stop_on_first_tool",
                   model_settings=ModelSettings(temperature=0, max_tokens=64, tool_choice="required",
                                                extra_body=medserve))
    before = len(calls)
    r = await Runner.run(forced, "I weigh 70 kg and I am 1.75 m tall. What is my BMI?")
    assert len(calls) == before + 1, (kind, calls)
    assert str(r.final_output).startswith("BMI "), (kind, r.final_output)

    plain = Agent(name="helper", instructions="Answer briefly.", model=make(), model_settings=settings)
    r = await Runner.run(plain, "What can help a sore throat? One sentence.")
    assert isinstance(r.final_output, str) and r.final_output.strip(), (kind, r.final_output)

    streamed = Runner.run_streamed(plain, "Name one way to sleep better, in one sentence.")
    deltas = []
    async for ev in streamed.stream_events():
        if ev.type == "raw_response_event" and getattr(ev.data, "type", "") in (
                "response.output_text.delta",):
            deltas.append(ev.data.delta)
    assert "".join(deltas).strip() and streamed.final_output == "".join(deltas), (kind, deltas, streamed.final_output)

    typed = Agent(name="typed", instructions="Answer as JSON.", model=make(),
                  model_settings=settings, output_type=Urgency)
    r = await Runner.run(typed, "Is a mild cold urgent?")
    assert isinstance(r.final_output, Urgency), (kind, r.final_output)
    print(f"agents sdk on {kind}: ok")


async def main() -> None:
    before = route_count("/v1/responses")
    await agents("responses", lambda: OpenAIResponsesModel(model=model, openai_client=client))
    assert route_count("/v1/responses") >= before + 4
    before = route_count("/v1/chat/completions")
    await agents("chat completions", lambda: OpenAIChatCompletionsModel(model=model, openai_client=client))
    assert route_count("/v1/chat/completions") >= before + 4


asyncio.run(main())

from inspect_ai import Task, eval as inspect_eval  # noqa: E402
from inspect_ai.dataset import Sample  # noqa: E402
from inspect_ai.scorer import includes  # noqa: E402
from inspect_ai.solver import generate  # noqa: E402

os.environ["MEDSERVE_API_KEY"] = "not-needed"
os.environ["MEDSERVE_BASE_URL"] = base + "/v1"
for responses_api, route in ((False, "/v1/chat/completions"), (True, "/v1/responses")):
    before = route_count(route)
    with tempfile.TemporaryDirectory() as logs_dir:
        task = Task(dataset=[Sample(input="Which organ makes insulin? One word.", target="pancreas")],
                    solver=generate(), scorer=includes())
        logs = inspect_eval(task, model=f"openai-api/medserve/{model}",
                            model_args={"responses_api": responses_api}, max_tokens=24, temperature=0,
                            display="none", log_dir=logs_dir, max_retries=0,
                            extra_body=medserve)
        log = logs[0]
        assert log.status == "success", (responses_api, log.error)
        out = log.samples[0].output
        assert out.completion.strip(), (responses_api, out)
        assert out.usage and out.usage.output_tokens > 0, (responses_api, out.usage)
    assert route_count(route) >= before + 1, (responses_api, route)
    print(f"inspect_ai responses_api={responses_api}: ok ({log.results.scores[0].metrics['accuracy'].value:.0f})")
print("agents checks passed")
