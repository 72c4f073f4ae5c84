"""lm-evaluation-harness (`lm-eval[api]`, no torch) against a running medserve.

Usage: lm_eval_check.py BASE_URL MODEL. The `local-completions` model with its remote
tokenizer (medserve's /tokenize, /detokenize, /tokenizer_info, detected by lm-eval itself)
runs a tiny local multiple-choice task (loglikelihood requests: echo + prompt logprobs on
token-id prompts) and a generate_until request, and the results are checked against
medserve's own answers. Prints "lm-eval checks passed".
"""
import json
import math
import os
import sys
import tempfile

import requests

base, model = sys.argv[1], sys.argv[2]
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OPENAI_API_KEY", "not-needed")

import lm_eval  # noqa: E402
from lm_eval.api.instance import Instance  # noqa: E402
from lm_eval.models.openai_completions import LocalCompletionsAPI  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402

url = base + "/v1/completions"
args = {"model": model, "base_url": url, "num_concurrent": 1, "max_retries": 1,
        "tokenized_requests": True, "max_length": 2048}

# lm-eval picks the remote tokenizer on its own when the server has the routes.
lm = LocalCompletionsAPI(**args)
assert lm.tokenizer_backend == "remote", lm.tokenizer_backend

# Loglikelihood: the sum of the continuation's logprobs, and whether it is the greedy
# continuation. medserve's greedy next token must be greedy by lm-eval's own test.
ctx = "The heart pumps"
first = requests.post(url, json={"model": model, "prompt": ctx, "max_tokens": 1,
    "temperature": 0, "logprobs": 1, "medserve": {"audience": "clinician"}}).json()
greedy = first["choices"][0]["logprobs"]["tokens"][0]
greedy_lp = first["choices"][0]["logprobs"]["token_logprobs"][0]
res = lm.loglikelihood([
    Instance("loglikelihood", {}, (ctx, greedy), 0),
    Instance("loglikelihood", {}, (ctx, " purple elephants"), 1),
], disable_tqdm=True)
(ll_g, is_g), (ll_x, is_x) = res
assert is_g is True and is_x is False, res
assert abs(ll_g - greedy_lp) < 0.05, (ll_g, greedy_lp)
assert ll_x < ll_g and math.isfinite(ll_x), res

# generate_until: the greedy text, cut at the stop sequence.
gen = lm.generate_until([
    Instance("generate_until", {}, (ctx, {"until": ["\n\n"], "max_gen_toks": 8, "temperature": 0}), 0),
], disable_tqdm=True)
assert isinstance(gen[0], str), gen

# A tiny local multiple-choice task, run the way a user runs lm-eval.
with tempfile.TemporaryDirectory() as d:
    data = os.path.join(d, "tiny.jsonl")
    with open(data, "w") as f:
        for q, choices, answer in [
            ("Insulin is made in the", [" pancreas", " kidney", " ear"], 0),
            ("The lungs are used for", [" breathing", " digestion", " hearing"], 0),
            ("A fracture is a broken", [" bone", " promise", " window"], 0),
            ("Vitamin C is found in", [" oranges", " rocks", " glass"], 0),
        ]:
            f.write(json.dumps({"question": q, "choices": choices, "answer": answer}) + "\n")
    with open(os.path.join(d, "tiny.yaml"), "w") as f:
        f.write(f"""task: medserve_tiny
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{answer}}}}"
metric_list:
  - metric: acc
""")
    out = lm_eval.simple_evaluate(model="local-completions", model_args=args,
                                  tasks=["medserve_tiny"], task_manager=TaskManager(include_path=d),
                                  log_samples=True)
    acc = out["results"]["medserve_tiny"]["acc,none"]
    assert 0.0 <= acc <= 1.0, out["results"]
    samples = out["samples"]["medserve_tiny"]
    assert len(samples) == 4, samples
    for s in samples:
        scores = [r[0][0] for r in s["resps"]]
        assert len(scores) == 3 and all(math.isfinite(x) and x < 0 for x in scores), s["resps"]
    print(f"tiny task accuracy {acc:.2f}")
print("lm-eval checks passed")
