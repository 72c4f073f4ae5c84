//! The official OpenAI Python SDK against a real server (installed by `make setup`).

use medserve_tests::*;

#[test]
fn openai_python_sdk_stream_non_stream_and_errors() {
    let python = std::env::var("MEDSERVE_PYTHON").unwrap_or_else(|_| "python3".into());
    let s = TestServer::shared();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/sdk_check.py");
    let out = std::process::Command::new(&python)
        .args([script, &format!("http://{}", s.addr), "smollm2"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e} (run `make setup`)"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SDK checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("sdk checks passed"));
}
