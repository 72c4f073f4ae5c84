//! The engine's CPU attention kernel (mistral.rs's `flash_attn_cpu_single_q`, patched in
//! `patches/`) against a plain f64 reference: batched decode rows, grouped KV heads, a KV
//! cache view narrower than its capacity, and additive masks over leading positions.

use candle_core::{Device, Tensor};
use mistralrs_core::layers::{Sdpa, SdpaParams};

/// softmax(q k^T * scale + mask) v in f64, from plain loops.
fn reference(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    mask: &[f32],
    b: usize,
    h: usize,
    kvh: usize,
    len: usize,
    cap: usize,
    d: usize,
    scale: f64,
) -> Vec<f32> {
    let mut out = vec![0f32; b * h * d];
    for bi in 0..b {
        for hi in 0..h {
            let kh = hi / (h / kvh);
            let qrow = &q[(bi * h + hi) * d..][..d];
            let scores: Vec<f64> = (0..len)
                .map(|p| {
                    let krow = &k[((bi * kvh + kh) * cap + p) * d..][..d];
                    qrow.iter()
                        .zip(krow)
                        .map(|(a, b)| *a as f64 * *b as f64)
                        .sum::<f64>()
                        * scale
                        + mask[bi * len + p] as f64
                })
                .collect();
            let m = scores.iter().cloned().fold(f64::MIN, f64::max);
            let w: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
            let z: f64 = w.iter().sum();
            for di in 0..d {
                let mut acc = 0f64;
                for p in 0..len {
                    acc += w[p] * v[((bi * kvh + kh) * cap + p) * d + di] as f64;
                }
                out[(bi * h + hi) * d + di] = (acc / z) as f32;
            }
        }
    }
    out
}

/// Plain attention parameters: `h` query heads over `kvh` KV heads of width `d`.
fn params(h: usize, kvh: usize, d: usize) -> SdpaParams {
    SdpaParams {
        n_kv_groups: h / kvh,
        softcap: None,
        softmax_scale: 1.0 / (d as f32).sqrt(),
        sliding_window: None,
        sinks: None,
    }
}

#[test]
fn cpu_decode_attention_matches_reference() {
    let dev = Device::Cpu;
    let (b, h, kvh, d, cap) = (3, 9, 3, 64, 128);
    for (len, pads) in [
        (39usize, [0usize, 0, 0]),
        (39, [0, 3, 20]),
        (70, [5, 0, 33]),
        (16, [0, 0, 0]),
    ] {
        let q = Tensor::randn(0f32, 1.0, (b, h, 1, d), &dev).unwrap();
        let k_all = (Tensor::randn(0f32, 1.0, (b, kvh, cap, d), &dev).unwrap() * 2.0).unwrap();
        let v_all = Tensor::randn(0f32, 1.0, (b, kvh, cap, d), &dev).unwrap();
        let k = k_all.narrow(2, 0, len).unwrap();
        let v = v_all.narrow(2, 0, len).unwrap();
        let mut mask = vec![0f32; b * len];
        for (bi, p) in pads.iter().enumerate() {
            for x in &mut mask[bi * len..bi * len + p] {
                *x = -1e30;
            }
        }
        let mask_t = Tensor::from_vec(mask.clone(), (b, 1, 1, len), &dev).unwrap();
        let params = params(h, kvh, d);
        let use_mask = pads.iter().any(|p| *p > 0);
        let got = Sdpa
            .run_attention(
                &q,
                &k,
                &v,
                if use_mask { Some(&mask_t) } else { None },
                None,
                &params,
            )
            .unwrap();
        let got: Vec<f32> = got.flatten_all().unwrap().to_vec1().unwrap();
        let want = reference(
            &q.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            &k_all.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            &v_all.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            &mask,
            b,
            h,
            kvh,
            len,
            cap,
            d,
            1.0 / (d as f64).sqrt(),
        );
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        eprintln!("len {len} pads {pads:?}: max abs err {worst}");
        assert!(worst < 1e-4, "len {len} pads {pads:?}: {worst}");
    }
}

/// A row of a left-padded batch (a shorter sequence decoding beside longer ones) must get
/// exactly, bit for bit, the output the same sequence gets decoded alone: the kernel starts
/// the row's tiles at its first unmasked position, so the sums run in the same order.
#[test]
fn a_left_padded_row_equals_the_row_alone() {
    let dev = Device::Cpu;
    let (h, kvh, d, cap) = (9, 3, 64, 128);
    let params = params(h, kvh, d);
    for (len, pad) in [(39usize, 3usize), (70, 17), (50, 32), (20, 1)] {
        // Row 0 is the longer neighbour; row 1 holds the short sequence after `pad` zeros.
        let q = Tensor::randn(0f32, 1.0, (2, h, 1, d), &dev).unwrap();
        let long = Tensor::randn(0f32, 1.0, (1, kvh, cap, d), &dev).unwrap();
        let short_k = Tensor::randn(0f32, 1.0, (1, kvh, len - pad, d), &dev).unwrap();
        let short_v = Tensor::randn(0f32, 1.0, (1, kvh, len - pad, d), &dev).unwrap();
        let zeros = Tensor::zeros((1, kvh, pad, d), candle_core::DType::F32, &dev).unwrap();
        let padded = |x: &Tensor| Tensor::cat(&[&zeros, x], 2).unwrap();
        let k = Tensor::cat(&[&long.narrow(2, 0, len).unwrap(), &padded(&short_k)], 0).unwrap();
        let v = Tensor::cat(&[&long.narrow(2, 0, len).unwrap(), &padded(&short_v)], 0).unwrap();
        let mut mask = vec![0f32; 2 * len];
        for x in &mut mask[len..len + pad] {
            *x = -1e30;
        }
        let mask = Tensor::from_vec(mask, (2, 1, 1, len), &dev).unwrap();
        let batched = Sdpa
            .run_attention(&q, &k, &v, Some(&mask), None, &params)
            .unwrap();
        let alone = Sdpa
            .run_attention(
                &q.narrow(0, 1, 1).unwrap(),
                &short_k,
                &short_v,
                None,
                None,
                &params,
            )
            .unwrap();
        let batched: Vec<f32> = batched
            .narrow(0, 1, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let alone: Vec<f32> = alone.flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(batched, alone, "len {len} pad {pad}");
    }
}
