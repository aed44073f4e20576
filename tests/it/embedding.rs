//! The built-in embedders — e5-small-v2 (the default) by what its
//! vectors must do, MiniLM against sentence-transformers' own vectors
//! (tests/data/minilm_reference.json, made by make_minilm_reference.py) —
//! and the OpenAI-compatible backend against a fake `/v1/embeddings`.

use memorid::config::{BuiltinModel, EmbeddingBackend, EmbeddingsConfig};
use memorid::embed::Embedder;
use memorid::memory::index::cosine;
use serde::Deserialize;

use crate::support::fake_openai::{EmbeddingAnswers, FakeOpenAi, pseudo_vector};

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

fn minilm() -> Embedder {
    Embedder::from_config(&EmbeddingsConfig {
        builtin_model: BuiltinModel::AllMiniLmL6V2,
        ..EmbeddingsConfig::default()
    })
    .expect("the built-in MiniLM")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e5_ranks_the_answering_passage_first_and_embeds_queries_in_their_role() {
    let embedder = tokio::task::spawn_blocking(builtin).await.unwrap();
    assert_eq!(embedder.model_name(), "intfloat/e5-small-v2-int8");
    let passages: Vec<String> = [
        "Caroline: I adopted a beagle puppy from the shelter last weekend, his name is Biscuit.",
        "Melanie: We painted the kids' bedroom a pale yellow over the holidays.",
        "Caroline: My sister moved to Lisbon for a job at a design studio.",
        "Melanie: The marathon was brutal, I finished in four hours and ten minutes.",
    ]
    .map(String::from)
    .to_vec();
    let vectors = embedder.embed(passages.clone()).await.unwrap();
    for vector in &vectors {
        assert_eq!(vector.len(), 384);
        let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
    // Paraphrased questions, no shared content words with their answer.
    let questions = [
        ("What kind of pet did Caroline get?", 0),
        ("Which colour did they choose for the children's room?", 1),
        ("Where does Caroline's sibling live now?", 2),
        ("How long did Melanie take to run the race?", 3),
    ];
    for (question, answer) in questions {
        let query = embedder.embed_query(question.into()).await.unwrap();
        let best = (0..vectors.len())
            .max_by(|&a, &b| cosine(&query, &vectors[a]).total_cmp(&cosine(&query, &vectors[b])))
            .unwrap();
        assert_eq!(best, answer, "{question:?} found {:?}", passages[best]);
    }

    // The same text as a query and as a passage: e5's role prefixes make
    // them different vectors.
    let as_query = embedder.embed_query(passages[0].clone()).await.unwrap();
    let similarity = cosine(&as_query, &vectors[0]);
    assert!(
        similarity < 0.999,
        "query and passage vectors are the same: {similarity}"
    );

    // A batch does not change a passage's vector: the same text always
    // gets the same vector.
    let alone = embedder.embed(vec![passages[2].clone()]).await.unwrap();
    assert_eq!(alone[0], vectors[2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_minilm_vectors_match_sentence_transformers() {
    let embedder = tokio::task::spawn_blocking(minilm).await.unwrap();
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

fn endpoint(fake: &FakeOpenAi) -> Embedder {
    Embedder::from_config(&EmbeddingsConfig {
        backend: EmbeddingBackend::Openai,
        base_url: Some(fake.base_url()),
        model: Some("pseudo-384".into()),
        ..EmbeddingsConfig::default()
    })
    .expect("an OpenAI-compatible embedder")
}

fn texts() -> Vec<String> {
    vec![
        "prefers async Python".into(),
        "has a daughter named Ada".into(),
    ]
}

fn expected() -> Vec<Vec<f32>> {
    texts().iter().map(|t| pseudo_vector(t)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_sends_vectors_as_base64() {
    let fake = FakeOpenAi::start().await;
    let embedder = endpoint(&fake);
    assert_eq!(embedder.embed(texts()).await.unwrap(), expected());
    assert_eq!(fake.embedding_formats(), ["base64"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_answering_floats_to_a_base64_request_is_understood() {
    let fake = FakeOpenAi::start().await;
    fake.set_embedding_answers(EmbeddingAnswers::FloatsAlways);
    let embedder = endpoint(&fake);
    assert_eq!(embedder.embed(texts()).await.unwrap(), expected());
    assert_eq!(fake.embedding_formats(), ["base64"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_refusing_base64_is_asked_for_floats_from_then_on() {
    let fake = FakeOpenAi::start().await;
    fake.set_embedding_answers(EmbeddingAnswers::RefuseBase64);
    let embedder = endpoint(&fake);
    assert_eq!(embedder.embed(texts()).await.unwrap(), expected());
    assert_eq!(
        embedder
            .embed_query("prefers async Python".into())
            .await
            .unwrap(),
        expected()[0]
    );
    assert_eq!(fake.embedding_formats(), ["base64", "float", "float"]);
}
