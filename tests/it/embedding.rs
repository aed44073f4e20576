//! The built-in embedder against sentence-transformers' own vectors
//! (tests/data/minilm_reference.json, made by make_minilm_reference.py).

use memorid::config::EmbeddingsConfig;
use memorid::embed::{Embedder, cosine};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    vector: Vec<f32>,
}

fn reference() -> Reference {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/minilm_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn builtin() -> Embedder {
    Embedder::from_config(&EmbeddingsConfig::default()).expect("the built-in embedder")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_vectors_match_sentence_transformers() {
    let embedder = tokio::task::spawn_blocking(builtin).await.unwrap();
    let reference = reference();
    let texts: Vec<String> = reference.cases.iter().map(|c| c.text.clone()).collect();
    let vectors = embedder.embed(texts.clone()).await.unwrap();
    let mut worst = 1.0f32;
    for (case, vector) in reference.cases.iter().zip(&vectors) {
        assert_eq!(vector.len(), 384);
        let similarity = cosine(vector, &case.vector);
        worst = worst.min(similarity);
        assert!(similarity >= 0.999, "{:?}: cosine {similarity}", case.text);
    }
    println!("worst cosine against sentence-transformers: {worst}");

    // Padding in a batch does not change a sentence's vector.
    let alone = embedder.embed(vec![texts[4].clone()]).await.unwrap();
    assert!(cosine(&alone[0], &vectors[4]) > 0.99999);
    assert_eq!(
        embedder.model_name(),
        "sentence-transformers/all-MiniLM-L6-v2"
    );
}
