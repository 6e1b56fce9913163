//! The degradation curve as an SVG: docproxy's measured served share against
//! the injected error rate e, beside the model's no-proxy line
//! a = (1 - e) * 0.9 and the budget-optimal a + min(0.2, 1 - a) * a.

use std::path::Path;

use plotters::prelude::*;

use crate::chaos::degradation::{Point, budget_optimal, no_proxy};

pub fn degradation_curve(points: &[Point], path: &Path) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("draw {}: {e}", path.display());
    let root = SVGBackend::new(path, (720, 440)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "docproxy under load-independent upstream 503s (200 req/s)",
            ("sans-serif", 18),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..0.8f64, 0.0..1.0f64)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("injected 503 share e")
        .y_desc("share of requests served 200")
        .draw()
        .map_err(|e| err(&e))?;
    let model = |f: fn(f64) -> f64| {
        (0..=80)
            .map(move |i| f64::from(i) / 100.0)
            .map(move |e| (e, f(e)))
    };
    chart
        .draw_series(LineSeries::new(model(no_proxy), BLACK.stroke_width(1)))
        .map_err(|e| err(&e))?
        .label("no proxy: a = (1 - e) x 0.9")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
    chart
        .draw_series(LineSeries::new(model(budget_optimal), BLUE.stroke_width(1)))
        .map_err(|e| err(&e))?
        .label("budget-optimal: a + min(0.2, 1 - a) x a")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE));
    let measured: Vec<_> = points.iter().map(|p| (p.e, p.served)).collect();
    chart
        .draw_series(LineSeries::new(measured.clone(), RED.stroke_width(2)))
        .map_err(|e| err(&e))?
        .label("docproxy, measured")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
    chart
        .draw_series(measured.iter().map(|&p| Circle::new(p, 4, RED.filled())))
        .map_err(|e| err(&e))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
