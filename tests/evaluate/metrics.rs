//! The metrics and the bootstrap as library functions: AUC with ties,
//! weights, empty denominators, the target-sensitivity threshold, ROC
//! points, calibration bins, and a reproducible, stratified bootstrap.

use hilum::ai::evaluate::bootstrap::{self, SplitMix64, metrics_with_intervals};
use hilum::ai::evaluate::{LabelSample, Metric};

#[test]
fn auc_counts_ties_as_one_half() {
    // Positives 0.9, 0.5, 0.5; negatives 0.5, 0.1: of 6 pairs, 0.9 wins
    // twice, each 0.5 ties once and wins once: (2 + 1.5 + 1.5) / 6.
    let s = LabelSample::new([
        (0.9, true),
        (0.5, true),
        (0.5, true),
        (0.5, false),
        (0.1, false),
    ]);
    assert_eq!(s.auc(None), Some(5.0 / 6.0));
    let all_tied = LabelSample::new([(0.3, true), (0.3, false), (0.3, true)]);
    assert_eq!(all_tied.auc(None), Some(0.5));
    let reversed = LabelSample::new([(0.1, true), (0.9, false)]);
    assert_eq!(reversed.auc(None), Some(0.0));
    assert_eq!(LabelSample::new([(0.4, true), (0.6, true)]).auc(None), None);
    assert_eq!(LabelSample::new([]).auc(None), None);
    // Weights count an image that many times: 0.9 twice, 0.1 not at all.
    let weights = [2, 1, 0, 1, 0];
    assert_eq!(s.auc(Some(&weights)), Some((2.0 + 0.5) / 3.0));
}

#[test]
fn confusion_rates_thresholds_and_empty_denominators() {
    let s = LabelSample::new([(0.8, true), (0.4, true), (0.6, false), (0.2, false)]);
    let c = s.confusion(0.5, None);
    assert_eq!((c.tp, c.fp, c.tn, c.fn_), (1, 1, 1, 1));
    assert_eq!(c.accuracy(), Some(0.5));
    assert_eq!(c.f1(), Some(0.5));
    // At or above the threshold is positive.
    assert_eq!(s.confusion(0.8, None).tp, 1);
    let none = s.confusion(0.9, None);
    assert_eq!((none.precision(), none.f1()), (None, Some(0.0)));
    assert_eq!(
        LabelSample::new([(0.3, false)])
            .confusion(0.5, None)
            .sensitivity(),
        None
    );
    assert_eq!(s.threshold_for_sensitivity(1.0), Some(0.4));
    assert_eq!(s.threshold_for_sensitivity(0.5), Some(0.8));
    assert_eq!(s.threshold_for_sensitivity(0.51), Some(0.4));
    assert_eq!(
        LabelSample::new([(0.3, false)]).threshold_for_sensitivity(0.5),
        None
    );
    assert_eq!(
        s.roc_points(),
        [(0.0, 0.0), (0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (1.0, 1.0)]
    );
    let bins = s.calibration(10);
    assert_eq!(bins.len(), 4);
    assert_eq!(
        (bins[0].low, bins[0].count, bins[0].observed),
        (0.2, 1, 0.0)
    );
}

#[test]
fn the_bootstrap_is_reproducible_and_stratified() {
    let s = LabelSample::new((0..40).map(|i| (f64::from(i % 17) / 17.0, i % 3 == 0)));
    let a = metrics_with_intervals(&s, 0.5, 500, 7, 0.95);
    let b = metrics_with_intervals(&s, 0.5, 500, 7, 0.95);
    let c = metrics_with_intervals(&s, 0.5, 500, 8, 0.95);
    assert_eq!(a, b);
    assert_ne!(a, c);
    for (metric, value, interval) in &a {
        let i = interval.unwrap_or_else(|| panic!("{metric:?} has an interval"));
        assert!(
            i.low <= i.high && i.low >= 0.0 && i.high <= 1.0,
            "{metric:?}"
        );
        assert!(value.is_some());
    }
    assert_eq!(a.len(), Metric::ALL.len());
    // Each resample keeps the class counts.
    let mut rng = SplitMix64::new(1);
    let (pos, neg) = (s.positive_indices(), s.negative_indices());
    for _ in 0..20 {
        let w = bootstrap::stratified_weights(&mut rng, s.len(), &pos, &neg);
        assert_eq!(pos.iter().map(|&i| w[i]).sum::<u32>() as usize, pos.len());
        assert_eq!(neg.iter().map(|&i| w[i]).sum::<u32>() as usize, neg.len());
    }
    // NumPy's linear quantile.
    assert_eq!(bootstrap::quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
    assert_eq!(bootstrap::quantile(&[], 0.5), None);
}
