//! Vector math for the index: unit scaling and the dot products every
//! dense score is (vectorized, and split across threads for large
//! indexes), and the plain cosine of two vectors.

pub(super) fn unit(vector: &[f32]) -> Vec<f32> {
    let norm = dot_portable(vector, vector).sqrt();
    if norm > 0.0 && norm.is_finite() {
        vector.iter().map(|v| v / norm).collect()
    } else {
        vec![0.0; vector.len()]
    }
}

/// A dot product written so the compiler vectorizes it: 32 running sums
/// (four AVX registers) instead of one, since a float reduction otherwise
/// forces one long chain of dependent additions.
#[inline(always)]
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let (a_chunks, a_rest) = a.as_chunks::<32>();
    let (b_chunks, b_rest) = b.as_chunks::<32>();
    let mut sums = [0f32; 32];
    for (x, y) in a_chunks.iter().zip(b_chunks) {
        for lane in 0..32 {
            sums[lane] += x[lane] * y[lane];
        }
    }
    let rest: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    sums.iter().sum::<f32>() + rest
}

/// From this many vectors on, a scan is split across threads: it is bound
/// by memory bandwidth, which one core alone does not use up.
pub(super) const PARALLEL_FROM: usize = 4096;

/// Dot products of `query` with each of the vectors laid end to end in
/// `vectors`, into `out`.
pub(super) fn dots(query: &[f32], vectors: &[f32], out: &mut Vec<f32>) {
    out.clear();
    if query.is_empty() {
        return;
    }
    let count = vectors.len() / query.len();
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let threads = *THREADS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(4)
    });
    if count < PARALLEL_FROM || threads < 2 {
        dots_serial(query, vectors, out);
        return;
    }
    let per_thread = count.div_ceil(threads) * query.len();
    let mut pieces: Vec<Vec<f32>> = Vec::new();
    pieces.resize_with(threads, Vec::new);
    std::thread::scope(|scope| {
        let mut slices = vectors.chunks(per_thread).zip(pieces.iter_mut());
        // The first slice is done by this thread, the rest by helpers.
        let first = slices.next();
        for (slice, piece) in slices {
            scope.spawn(move || dots_serial(query, slice, piece));
        }
        if let Some((slice, piece)) = first {
            dots_serial(query, slice, piece);
        }
    });
    for piece in pieces {
        out.extend(piece);
    }
}

fn dots_serial(query: &[f32], vectors: &[f32], out: &mut Vec<f32>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU was just checked to have both features.
        unsafe { dots_avx2(query, vectors, out) };
        return;
    }
    out.extend(
        vectors
            .chunks_exact(query.len())
            .map(|v| dot_portable(query, v)),
    );
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dots_avx2(query: &[f32], vectors: &[f32], out: &mut Vec<f32>) {
    out.extend(
        vectors
            .chunks_exact(query.len())
            .map(|v| dot_portable(query, v)),
    );
}

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}
