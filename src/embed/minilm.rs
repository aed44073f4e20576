//! all-MiniLM-L6-v2 (sentence-transformers) on CPU: a small BERT encoder
//! of our own on candle, mean pooling over real tokens, L2 normalization —
//! the same computation as sentence-transformers, so vectors match it.
//!
//! Inputs are truncated to 256 tokens (the model's `max_seq_length`) and a
//! batch is padded to its longest input; padding is masked out of both
//! attention and pooling.

use std::path::Path;

use candle_core::{D, DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// The model's name as recorded with every vector.
pub const MODEL_NAME: &str = "sentence-transformers/all-MiniLM-L6-v2";
pub const DIMENSION: usize = 384;
const MAX_TOKENS: usize = 256;

const HIDDEN: usize = 384;
const LAYERS: usize = 6;
const HEADS: usize = 12;
const INTERMEDIATE: usize = 1536;
const VOCAB: usize = 30522;
const POSITIONS: usize = 512;
const TOKEN_TYPES: usize = 2;
const LAYER_NORM_EPS: f64 = 1e-12;

struct SelfAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    norm: LayerNorm,
}

struct Layer {
    attention: SelfAttention,
    intermediate: Linear,
    output: Linear,
    norm: LayerNorm,
}

pub struct MiniLm {
    tokenizer: Tokenizer,
    words: Embedding,
    positions: Embedding,
    token_types: Embedding,
    embeddings_norm: LayerNorm,
    layers: Vec<Layer>,
    device: Device,
}

fn layer_norm(vb: VarBuilder) -> candle_core::Result<LayerNorm> {
    candle_nn::layer_norm(HIDDEN, LAYER_NORM_EPS, vb)
}

impl SelfAttention {
    fn load(vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(SelfAttention {
            query: candle_nn::linear(HIDDEN, HIDDEN, vb.pp("self.query"))?,
            key: candle_nn::linear(HIDDEN, HIDDEN, vb.pp("self.key"))?,
            value: candle_nn::linear(HIDDEN, HIDDEN, vb.pp("self.value"))?,
            output: candle_nn::linear(HIDDEN, HIDDEN, vb.pp("output.dense"))?,
            norm: layer_norm(vb.pp("output.LayerNorm"))?,
        })
    }

    /// `mask` is additive: 0 for tokens, a large negative for padding,
    /// shaped (batch, 1, 1, seq).
    fn forward(&self, x: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, seq, _) = x.dims3()?;
        let head_dim = HIDDEN / HEADS;
        let split = |t: Tensor| -> candle_core::Result<Tensor> {
            t.reshape((batch, seq, HEADS, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split(self.query.forward(x)?)?;
        let k = split(self.key.forward(x)?)?;
        let v = split(self.value.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? / (head_dim as f64).sqrt())?.broadcast_add(mask)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((batch, seq, HIDDEN))?;
        self.norm.forward(&(self.output.forward(&context)? + x)?)
    }
}

impl Layer {
    fn load(vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Layer {
            attention: SelfAttention::load(vb.pp("attention"))?,
            intermediate: candle_nn::linear(HIDDEN, INTERMEDIATE, vb.pp("intermediate.dense"))?,
            output: candle_nn::linear(INTERMEDIATE, HIDDEN, vb.pp("output.dense"))?,
            norm: layer_norm(vb.pp("output.LayerNorm"))?,
        })
    }

    fn forward(&self, x: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let attended = self.attention.forward(x, mask)?;
        // BERT's "gelu" is the exact, erf-based one.
        let hidden = self.intermediate.forward(&attended)?.gelu_erf()?;
        self.norm
            .forward(&(self.output.forward(&hidden)? + attended)?)
    }
}

impl MiniLm {
    /// Loads `model.safetensors` and `tokenizer.json` from `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<MiniLm> {
        let device = Device::Cpu;
        let weights = dir.join("model.safetensors");
        let tensors = candle_core::safetensors::load(&weights, &device)
            .map_err(|e| anyhow::anyhow!("loading {}: {e}", weights.display()))?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| {
            anyhow::anyhow!("loading {}: {e}", dir.join("tokenizer.json").display())
        })?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?;
        let embeddings = vb.pp("embeddings");
        let layers = (0..LAYERS)
            .map(|i| Layer::load(vb.pp(format!("encoder.layer.{i}"))))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(MiniLm {
            tokenizer,
            words: candle_nn::embedding(VOCAB, HIDDEN, embeddings.pp("word_embeddings"))?,
            positions: candle_nn::embedding(
                POSITIONS,
                HIDDEN,
                embeddings.pp("position_embeddings"),
            )?,
            token_types: candle_nn::embedding(
                TOKEN_TYPES,
                HIDDEN,
                embeddings.pp("token_type_embeddings"),
            )?,
            embeddings_norm: layer_norm(embeddings.pp("LayerNorm"))?,
            layers,
            device,
        })
    }

    /// Unit-length sentence vectors, one per text.
    pub fn embed(&self, texts: &[String]) -> anyhow::Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?;
        let batch = encodings.len();
        let seq = encodings[0].get_ids().len();
        let flat = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            encodings
                .iter()
                .flat_map(|e| f(e).iter().copied())
                .collect()
        };
        let ids = Tensor::from_vec(flat(&|e| e.get_ids()), (batch, seq), &self.device)?;
        let types = Tensor::from_vec(flat(&|e| e.get_type_ids()), (batch, seq), &self.device)?;
        let mask = Tensor::from_vec(
            flat(&|e| e.get_attention_mask()),
            (batch, seq),
            &self.device,
        )?
        .to_dtype(DType::F32)?;
        let positions = Tensor::arange(0u32, seq as u32, &self.device)?.unsqueeze(0)?;

        let mut x = self
            .words
            .forward(&ids)?
            .add(&self.token_types.forward(&types)?)?
            .broadcast_add(&self.positions.forward(&positions)?)?;
        x = self.embeddings_norm.forward(&x)?;
        // 0 where attending is allowed, -1e4 (as BERT does) on padding.
        let additive = ((mask.clone() - 1.0)? * 10_000.0)?
            .unsqueeze(1)?
            .unsqueeze(1)?;
        for layer in &self.layers {
            x = layer.forward(&x, &additive)?;
        }
        let weights = mask.unsqueeze(2)?;
        let summed = x.broadcast_mul(&weights)?.sum(1)?;
        let counts = weights.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norms = mean
            .sqr()?
            .sum_keepdim(D::Minus1)?
            .sqrt()?
            .clamp(1e-12, f64::MAX)?;
        Ok(mean.broadcast_div(&norms)?.to_vec2::<f32>()?)
    }
}

/// One set of weights serves both batcher threads (candle computes through
/// `&self`); MiniLM has no query or passage roles.
impl super::batcher::LocalModel for std::sync::Arc<MiniLm> {
    fn embed(&mut self, texts: &[String], _role: super::Role) -> anyhow::Result<Vec<Vec<f32>>> {
        MiniLm::embed(self, texts)
    }
}
