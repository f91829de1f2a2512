//! Adaptive Gauss–Kronrod (7/15) quadrature with QUADPACK's error estimate
//! (Piessens et al. 1983, *QUADPACK*, routine QK15 and the QAG strategy).

/// Kronrod abscissae (first 7 positive, then the centre 0).
const XGK: [f64; 8] = [
    0.991_455_371_120_812_6,
    0.949_107_912_342_758_5,
    0.864_864_423_359_769_1,
    0.741_531_185_599_394_4,
    0.586_087_235_467_691_1,
    0.405_845_151_377_397_2,
    0.207_784_955_007_898_5,
    0.0,
];
/// Kronrod weights, matching `XGK`.
const WGK: [f64; 8] = [
    0.022_935_322_010_529_22,
    0.063_092_092_629_978_55,
    0.104_790_010_322_250_2,
    0.140_653_259_715_525_9,
    0.169_004_726_639_267_9,
    0.190_350_578_064_785_4,
    0.204_432_940_075_298_9,
    0.209_482_141_084_727_8,
];
/// Gauss weights for the abscissae `XGK[1]`, `XGK[3]`, `XGK[5]` and the centre.
const WG: [f64; 4] = [
    0.129_484_966_168_869_7,
    0.279_705_391_489_276_7,
    0.381_830_050_505_118_9,
    0.417_959_183_673_469_4,
];

#[derive(Debug, Clone, Copy)]
struct Piece {
    lo: f64,
    hi: f64,
    value: f64,
    error: f64,
}

/// One 15-point Kronrod estimate on [lo, hi] with the embedded 7-point Gauss rule.
fn kronrod15(f: &impl Fn(f64) -> f64, lo: f64, hi: f64) -> Piece {
    let centre = 0.5 * (lo + hi);
    let half = 0.5 * (hi - lo);
    let fc = f(centre);
    let mut res_k = fc * WGK[7];
    let mut res_g = fc * WG[3];
    let mut res_abs = res_k.abs();
    let mut pairs = [(0.0_f64, 0.0_f64); 7];
    for (j, ((x, w), pair)) in XGK.iter().zip(WGK.iter()).zip(pairs.iter_mut()).enumerate() {
        let dx = half * x;
        let f1 = f(centre - dx);
        let f2 = f(centre + dx);
        *pair = (f1, f2);
        res_k += w * (f1 + f2);
        res_abs += w * (f1.abs() + f2.abs());
        if j % 2 == 1
            && let Some(wg) = WG.get(j / 2)
        {
            res_g += wg * (f1 + f2);
        }
    }
    let mean = 0.5 * res_k;
    let mut res_asc = WGK[7] * (fc - mean).abs();
    for (w, (f1, f2)) in WGK.iter().zip(pairs.iter()) {
        res_asc += w * ((f1 - mean).abs() + (f2 - mean).abs());
    }
    let scale = half.abs();
    let value = res_k * half;
    res_abs *= scale;
    res_asc *= scale;
    let mut error = ((res_k - res_g) * half).abs();
    if res_asc != 0.0 && error != 0.0 {
        error = res_asc * (200.0 * error / res_asc).powf(1.5).min(1.0);
    }
    if res_abs > f64::MIN_POSITIVE / (50.0 * f64::EPSILON) {
        error = error.max(50.0 * f64::EPSILON * res_abs);
    }
    Piece {
        lo,
        hi,
        value,
        error,
    }
}

/// ∫ f over `[points[0], points[last]]`, starting from the panels between consecutive sorted
/// `points` and bisecting the panel with the largest error estimate until the summed estimate
/// is below `abs_tol` or `max_pieces` panels are in use.
pub(crate) fn integrate(
    f: &impl Fn(f64) -> f64,
    points: &[f64],
    abs_tol: f64,
    max_pieces: usize,
) -> f64 {
    let mut pieces: Vec<Piece> = points
        .windows(2)
        .filter_map(|w| match w {
            [lo, hi] if hi > lo => Some(kronrod15(f, *lo, *hi)),
            _ => None,
        })
        .collect();
    loop {
        let total_error: f64 = pieces.iter().map(|p| p.error).sum();
        if total_error <= abs_tol || pieces.len() >= max_pieces {
            break;
        }
        let worst = pieces
            .iter()
            .enumerate()
            .max_by(|x, y| x.1.error.total_cmp(&y.1.error))
            .map(|(i, p)| (i, *p));
        let Some((index, piece)) = worst else {
            break;
        };
        let mid = 0.5 * (piece.lo + piece.hi);
        if mid <= piece.lo || mid >= piece.hi {
            // Cannot split further at double precision: accept this panel as it is.
            if let Some(slot) = pieces.get_mut(index) {
                slot.error = 0.0;
            }
            continue;
        }
        let left = kronrod15(f, piece.lo, mid);
        let right = kronrod15(f, mid, piece.hi);
        if let Some(slot) = pieces.get_mut(index) {
            *slot = left;
        }
        pieces.push(right);
    }
    pieces.iter().map(|p| p.value).sum()
}
