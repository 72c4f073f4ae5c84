//! Real OpenAI clients against a real server (installed by `make setup`): the official
//! Python SDK, the official Node SDK and LangChain's OpenAI client, each driving the shared
//! real-model server from a script that asserts what comes back.

use medserve_tests::*;

/// Runs `program script URL MODEL` in `dir` against the shared server and checks that it
/// succeeds and prints `done`.
fn run_client(program: &str, dir: &str, script: &str, done: &str) {
    let s = TestServer::shared();
    let model = s.state.engine().unwrap().info().id.clone();
    let out = std::process::Command::new(program)
        .current_dir(dir)
        .args([script, &format!("http://{}", s.addr), &model])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e} (run `make setup`)"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(done), "{stdout}");
}

fn python() -> String {
    std::env::var("MEDSERVE_PYTHON").unwrap_or_else(|_| "python3".into())
}

const HERE: &str = env!("CARGO_MANIFEST_DIR");

/// The official OpenAI Python SDK (`sdk_check.py`).
#[test]
fn openai_python_sdk_stream_non_stream_and_errors() {
    run_client(&python(), HERE, "sdk_check.py", "sdk checks passed");
}

/// The official OpenAI Node SDK (6.x, pinned by `tests/sdk_node/package-lock.json`).
#[test]
fn openai_node_sdk_chat_stream_errors_embeddings_moderations_tools() {
    let dir = format!("{HERE}/sdk_node");
    assert!(
        std::path::Path::new(&dir)
            .join("node_modules/openai")
            .exists(),
        "the Node SDK is needed: run `make setup` (scripts/install-browser.sh)"
    );
    run_client("node", &dir, "check.mjs", "node sdk checks passed");
}

/// LangChain's `ChatOpenAI` and `OpenAIEmbeddings` (langchain-openai, in the test venv):
/// invoke and stream, `bind_tools` with a named tool and `required`,
/// `with_structured_output` (json_schema and json_mode), embeddings.
#[test]
fn langchain_chat_tools_structured_output_embeddings() {
    run_client(
        &python(),
        HERE,
        "langchain_check.py",
        "langchain checks passed",
    );
}

/// lm-evaluation-harness (`lm-eval[api]` 0.4, no torch) with `local-completions` and its
/// remote tokenizer: loglikelihood (echo + prompt logprobs on token-id prompts) checked
/// against medserve's greedy token, generate_until, and a tiny local multiple-choice task
/// through `simple_evaluate`.
#[test]
fn lm_evaluation_harness_local_completions() {
    run_client(&python(), HERE, "lm_eval_check.py", "lm-eval checks passed");
}

/// The OpenAI Agents SDK (0.24, on the Responses API and on chat completions, tracing
/// disabled) and inspect_ai (`openai-api` provider, with and without `responses_api`), in
/// their own venv (both need openai 3.x; `make setup` installs it).
#[test]
fn openai_agents_sdk_and_inspect_ai() {
    let python = std::env::var("MEDSERVE_AGENTS_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/.cache/medserve/venv-agents/bin/python",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    run_client(&python, HERE, "agents_check.py", "agents checks passed");
}
