//! What one request gets: which document, and which injected faults. Drawn
//! from one RNG, a fixed number of draws per request, so a seed fixes the
//! sequence of documents whatever the fault settings.

use rand::Rng;

use crate::config::{Config, Only};
use crate::documents::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    pub kind: Kind,
    pub error: bool,
    pub spike: bool,
    pub reset: bool,
    pub truncate: bool,
    pub wrong_type: bool,
    pub drip: bool,
}

impl Plan {
    pub fn draw(rng: &mut impl Rng, config: &Config) -> Plan {
        let f = &config.faults;
        let roll = rng.random_range(0..100u8);
        let kind = match config.only {
            Some(Only::Pdf) => Kind::Pdf,
            Some(Only::Png) => Kind::Png,
            Some(Only::CorruptPdf) => Kind::CorruptPdf,
            None if roll < 50 => Kind::Png,
            None if roll < 90 => Kind::Pdf,
            None => Kind::CorruptPdf,
        };
        // One draw per roll even at rate 0 or 1 (`random_bool(1.0)` would draw nothing).
        let mut chance = |rate: f64| rng.random::<f64>() < rate;
        Plan {
            kind,
            error: chance(f.error_rate),
            spike: chance(f.spike_rate),
            reset: chance(f.reset_rate),
            truncate: chance(f.truncate_rate),
            wrong_type: chance(f.wrong_type_rate),
            drip: chance(f.drip_rate),
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn plans(config: &Config, n: usize) -> Vec<Plan> {
        let mut rng = StdRng::seed_from_u64(1);
        (0..n).map(|_| Plan::draw(&mut rng, config)).collect()
    }

    #[test]
    fn defaults_inject_nothing_and_rate_one_always_injects() {
        let quiet = plans(&Config::default(), 1000);
        assert!(quiet.iter().all(|p| !(p.error
            || p.spike
            || p.reset
            || p.truncate
            || p.wrong_type
            || p.drip)));

        let mut loud = Config::default();
        loud.faults.truncate_rate = 1.0;
        loud.faults.drip_rate = 1.0;
        let loud = plans(&loud, 1000);
        assert!(loud.iter().all(|p| p.truncate && p.drip && !p.error));
        // Same documents either way.
        assert!(quiet.iter().zip(&loud).all(|(a, b)| a.kind == b.kind));
    }

    #[test]
    fn a_rate_is_roughly_honoured() {
        let mut config = Config::default();
        config.faults.reset_rate = 0.2;
        let resets = plans(&config, 10_000).iter().filter(|p| p.reset).count();
        assert!((1_800..=2_200).contains(&resets), "{resets}");
    }

    #[test]
    fn only_pins_the_document() {
        let config = Config {
            only: Some(Only::CorruptPdf),
            ..Config::default()
        };
        assert!(
            plans(&config, 100)
                .iter()
                .all(|p| p.kind == Kind::CorruptPdf)
        );
    }
}
