//! e5-small-v2 (int8 ONNX) on CPU through ONNX Runtime: the default
//! built-in model.
//!
//! e5 is trained with role prefixes: what is searched for is embedded as
//! `query: …`, what is stored as `passage: …`; without them its vectors
//! lose much of their quality. Vectors are the mean of the last hidden
//! state over the text's tokens, L2-normalized, as the model card
//! prescribes; each text has a forward pass of its own (see `embed`), so
//! there is no padding. Inputs are truncated to 512 tokens (BERT's
//! position table).
//!
//! ONNX Runtime is loaded at run time (`ort`'s load-dynamic) from the
//! `libonnxruntime.so` the installer put next to the model, so the build
//! links nothing and a missing library is a clear start-up error.

use std::path::Path;
use std::sync::OnceLock;

use ort::session::Session;
use ort::value::Tensor;
use tokenizers::{Tokenizer, TruncationParams};

use super::Role;

/// The model's name as recorded with every vector (the int8 weights'
/// vectors differ slightly from fp32's, so they get a name of their own).
pub const MODEL_NAME: &str = "intfloat/e5-small-v2-int8";
pub const DIMENSION: usize = 384;
const MAX_TOKENS: usize = 512;

pub const MODEL_FILE: &str = "e5-small-v2-q.onnx";
pub const TOKENIZER_FILE: &str = "e5-small-v2-q-tokenizer.json";
pub const RUNTIME_FILE: &str = "libonnxruntime.so.1.31.1";

/// ONNX Runtime's process-wide environment: the library can be loaded
/// once per process, so every session shares it.
static RUNTIME: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

fn runtime(dir: &Path) -> anyhow::Result<&'static ort::environment::Environment> {
    let library = dir.join(RUNTIME_FILE);
    RUNTIME
        .get_or_init(|| {
            ort::init_from(&library)
                .map_err(|e| format!("loading ONNX Runtime from {}: {e}", library.display()))?
                .with_name("memorid")
                .build()
                .map_err(|e| format!("starting ONNX Runtime: {e}"))
        })
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

pub struct E5 {
    tokenizer: Tokenizer,
    session: Session,
}

impl E5 {
    /// Loads the model, its tokenizer and ONNX Runtime from `dir`; the
    /// session computes on `threads` threads.
    pub fn load(dir: &Path, threads: usize) -> anyhow::Result<E5> {
        let environment = runtime(dir)?;
        let model = dir.join(MODEL_FILE);
        let failed =
            |e: &dyn std::fmt::Display| anyhow::anyhow!("loading {}: {e}", model.display());
        // Spinning threads would take CPU from the gateway while idle.
        let mut builder = Session::builder(environment)
            .map_err(|e| failed(&e))?
            .with_intra_threads(threads)
            .map_err(|e| failed(&e))?
            .with_intra_op_spinning(false)
            .map_err(|e| failed(&e))?;
        let session = builder.commit_from_file(&model).map_err(|e| failed(&e))?;
        let tokenizer_file = dir.join(TOKENIZER_FILE);
        let mut tokenizer = Tokenizer::from_file(&tokenizer_file)
            .map_err(|e| anyhow::anyhow!("loading {}: {e}", tokenizer_file.display()))?;
        // One text per pass (see `embed`): nothing to pad.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?;
        Ok(E5 { tokenizer, session })
    }

    /// Unit-length vectors, one per text, each embedded in `role`.
    ///
    /// One forward pass per text: the int8 model quantizes its activations
    /// with a scale taken over the whole input, so in a padded batch a
    /// text's vector would depend on its neighbours (cosine ~0.99 to
    /// itself alone). Alone, the same text always gets the same vector.
    pub fn embed(&mut self, texts: &[String], role: Role) -> anyhow::Result<Vec<Vec<f32>>> {
        let prefix = match role {
            Role::Query => "query: ",
            Role::Passage => "passage: ",
        };
        texts
            .iter()
            .map(|text| self.embed_one(&format!("{prefix}{text}")))
            .collect()
    }

    fn embed_one(&mut self, text: &str) -> anyhow::Result<Vec<f32>> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?;
        let seq = encoding.get_ids().len();
        let values = |v: &[u32]| -> Vec<i64> { v.iter().map(|&v| i64::from(v)).collect() };
        let tensor = |v: Vec<i64>| Tensor::from_array(([1, seq], v));
        let outputs = self
            .session
            .run(ort::inputs![
                "input_ids" => tensor(values(encoding.get_ids()))?,
                "attention_mask" => tensor(values(encoding.get_attention_mask()))?,
                "token_type_ids" => tensor(values(encoding.get_type_ids()))?,
            ])
            .map_err(|e| anyhow::anyhow!("running e5-small-v2: {e}"))?;
        let (shape, hidden) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| anyhow::anyhow!("reading e5-small-v2's output: {e}"))?;
        if hidden.len() != seq * DIMENSION {
            anyhow::bail!("e5-small-v2 returned an output shaped {shape:?}");
        }
        Ok(mean_pooled(hidden))
    }
}

/// The mean of the token vectors (no padding: one text per pass),
/// L2-normalized.
fn mean_pooled(tokens: &[f32]) -> Vec<f32> {
    let mut sum = vec![0f32; DIMENSION];
    for token in tokens.chunks_exact(DIMENSION) {
        for (total, value) in sum.iter_mut().zip(token) {
            *total += value;
        }
    }
    // The mean's scale cancels in the normalization.
    let norm = sum.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    sum.iter_mut().for_each(|v| *v /= norm);
    sum
}

impl super::batcher::LocalModel for E5 {
    fn embed(&mut self, texts: &[String], role: Role) -> anyhow::Result<Vec<Vec<f32>>> {
        E5::embed(self, texts, role)
    }
}

/// Several single-threaded sessions splitting a batch between them: with
/// one text per pass, passes in parallel use the cores better than one
/// session's threads inside each short pass.
pub struct E5Pool {
    sessions: Vec<E5>,
}

impl E5Pool {
    pub fn load(dir: &Path, sessions: usize) -> anyhow::Result<E5Pool> {
        Ok(E5Pool {
            sessions: (0..sessions.max(1))
                .map(|_| E5::load(dir, 1))
                .collect::<anyhow::Result<_>>()?,
        })
    }
}

impl super::batcher::LocalModel for E5Pool {
    fn embed(&mut self, texts: &[String], role: Role) -> anyhow::Result<Vec<Vec<f32>>> {
        if texts.len() < 2 || self.sessions.len() == 1 {
            return self.sessions[0].embed(texts, role);
        }
        let share = texts.len().div_ceil(self.sessions.len());
        let parts: Vec<anyhow::Result<Vec<Vec<f32>>>> = std::thread::scope(|scope| {
            let running: Vec<_> = self
                .sessions
                .iter_mut()
                .zip(texts.chunks(share))
                .map(|(session, chunk)| scope.spawn(move || session.embed(chunk, role)))
                .collect();
            running
                .into_iter()
                .map(|thread| {
                    thread
                        .join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("an e5 pass panicked")))
                })
                .collect()
        });
        let mut vectors = Vec::with_capacity(texts.len());
        for part in parts {
            vectors.extend(part?);
        }
        Ok(vectors)
    }
}
