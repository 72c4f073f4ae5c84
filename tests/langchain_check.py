"""Drives a running medserve with LangChain's ChatOpenAI and OpenAIEmbeddings
(langchain-openai, installed by `make setup`) and asserts what comes back.

usage: python langchain_check.py BASE_URL MODEL
"""
import sys

from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from pydantic import BaseModel, Field

base, model = sys.argv[1], sys.argv[2]
common = dict(base_url=base + "/v1", api_key="not-needed", model=model, max_retries=0)
llm = ChatOpenAI(temperature=0, max_tokens=24, **common)

# invoke and stream give the same text.
q = "What is a normal body temperature?"
r = llm.invoke(q)
assert r.content, r
streamed = "".join(c.content for c in llm.stream(q))
assert streamed == r.content, (streamed, r.content)
assert r.usage_metadata["total_tokens"] > 0, r.usage_metadata


class Qsofa(BaseModel):
    """Quick SOFA score from three bedside criteria."""

    respiratory_rate: float = Field(description="breaths per minute")
    systolic_bp_mmhg: float = Field(description="systolic blood pressure")
    altered_mentation: bool = Field(description="new confusion or drowsiness")


ask = "Respiratory rate 24, systolic 95, and she is confused. Score qSOFA."
# bind_tools with a named tool and with "required" (max_tokens 64, as a small budget).
tools_llm = ChatOpenAI(temperature=0, max_tokens=64, **common)
for choice in ("Qsofa", "required"):
    m = tools_llm.bind_tools([Qsofa], tool_choice=choice).invoke(ask)
    assert m.tool_calls, (choice, m)
    call = m.tool_calls[0]
    assert call["name"] == "Qsofa", (choice, call)
    Qsofa(**call["args"])  # the arguments validate against the model's own schema


class Urgency(BaseModel):
    """Whether a complaint needs urgent care."""

    urgent: bool
    reason: str


# with_structured_output (json_schema by default), parsed into the pydantic model.
structured = ChatOpenAI(temperature=0, max_tokens=64, **common).with_structured_output(Urgency)
u = structured.invoke("Is a mild cold that started yesterday urgent?")
assert isinstance(u, Urgency), u
# ... and in json_mode.
j = ChatOpenAI(temperature=0, max_tokens=60, **common).with_structured_output(
    None, method="json_mode"
).invoke("Describe a fever as a JSON object.")
assert isinstance(j, dict), j

# Embeddings by name (text, not token arrays: the server's encoder has its own tokenizer).
emb = OpenAIEmbeddings(base_url=base + "/v1", api_key="not-needed", model="all-MiniLM-L6-v2",
                       check_embedding_ctx_length=False, max_retries=0)
vecs = emb.embed_documents(["cough", "fever"])
assert len(vecs) == 2 and len(vecs[0]) == 384
assert len(emb.embed_query("chest pain")) == 384
print("langchain checks passed")
