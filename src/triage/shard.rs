//! Splitting an archive deterministically by study: every image of a study
//! goes to the same shard, whichever task lists the files and in whatever
//! order, so `--shard K/N` tasks partition the input with no overlap and
//! no gap.

use sha2::{Digest, Sha256};

/// One shard of `count`: `index` in `0..count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// This shard, 0-based.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl Default for Shard {
    fn default() -> Self {
        Self::WHOLE
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Everything in one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `K/N` (0 ≤ K < N). `K` may be `auto`: Slurm's
    /// `SLURM_ARRAY_TASK_ID` (less `SLURM_ARRAY_TASK_MIN`, so an array
    /// `1-4` works too), else Kubernetes' `JOB_COMPLETION_INDEX` (an
    /// indexed Job); `N` may be `auto`: `SLURM_ARRAY_TASK_COUNT`. `env`
    /// reads a variable (the process's environment, or a test's).
    pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("--shard {text:?}: expected K/N, e.g. 0/4"))?;
        let number = |name: &str, value: &str| -> Result<u64, String> {
            value
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("--shard {text:?}: {name} {value:?} is not a whole number"))
        };
        let variable = |name: &str| -> Option<Result<u64, String>> {
            env(name).map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("--shard {text:?}: {name}={v:?} is not a whole number"))
            })
        };
        let index = if k.trim().eq_ignore_ascii_case("auto") {
            if let Some(id) = variable("SLURM_ARRAY_TASK_ID") {
                let min = variable("SLURM_ARRAY_TASK_MIN").transpose()?.unwrap_or(0);
                id?.checked_sub(min).ok_or_else(|| {
                    format!("--shard {text:?}: SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN")
                })?
            } else if let Some(index) = variable("JOB_COMPLETION_INDEX") {
                index?
            } else {
                return Err(format!(
                    "--shard {text:?}: K is auto but neither SLURM_ARRAY_TASK_ID nor \
                     JOB_COMPLETION_INDEX is set"
                ));
            }
        } else {
            number("K", k)?
        };
        let count = if n.trim().eq_ignore_ascii_case("auto") {
            variable("SLURM_ARRAY_TASK_COUNT").ok_or_else(|| {
                format!("--shard {text:?}: N is auto but SLURM_ARRAY_TASK_COUNT is not set")
            })??
        } else {
            number("N", n)?
        };
        if count == 0 {
            return Err(format!("--shard {text:?}: N must be at least 1"));
        }
        if index >= count {
            return Err(format!(
                "--shard {text:?}: K must be below N (shards are numbered 0 to {})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// True when the image with shard key `key` ([`shard_key`]) is this
    /// shard's.
    pub fn owns(&self, key: &str) -> bool {
        bucket(key) % self.count == self.index
    }
}

/// What an image is sharded by: its Study Instance UID, else (a file that
/// is not DICOM, or cannot be read) its path as listed.
pub fn shard_key(study_instance_uid: Option<&str>, path: &str) -> String {
    match study_instance_uid.map(|u| u.trim_matches(|c: char| c == '\0' || c.is_whitespace())) {
        Some(uid) if !uid.is_empty() => format!("study:{uid}"),
        _ => format!("path:{path}"),
    }
}

/// A stable 64-bit hash of `key`: the first 8 bytes of its SHA-256, the
/// same on every machine and in every version (unlike std's hasher).
pub fn bucket(key: &str) -> u64 {
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn shards_parse_from_numbers_and_from_slurm_or_kubernetes() {
        let none = env(&[]);
        assert_eq!(Shard::parse("2/4", &none), Ok(Shard { index: 2, count: 4 }));
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2"] {
            assert!(Shard::parse(bad, &none).is_err(), "{bad}");
        }
        assert!(
            Shard::parse("auto/4", &none)
                .unwrap_err()
                .contains("JOB_COMPLETION_INDEX")
        );
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            Shard::parse("auto/auto", &slurm),
            Ok(Shard { index: 2, count: 4 })
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "5")]);
        assert_eq!(
            Shard::parse("auto/8", &k8s),
            Ok(Shard { index: 5, count: 8 })
        );
        assert!(Shard::parse("auto/auto", &k8s).is_err());
    }

    #[test]
    fn every_key_belongs_to_exactly_one_shard_and_the_hash_is_stable() {
        // Pinned: a change of hash would re-partition running archives.
        assert_eq!(bucket("study:1.2.3"), 0x1b4b_9271_4248_9d8a);
        for n in [1u64, 2, 3, 7] {
            for i in 0..200 {
                let key = shard_key(Some(&format!("1.2.840.{i}")), "ignored");
                let owners = (0..n)
                    .filter(|&k| Shard { index: k, count: n }.owns(&key))
                    .count();
                assert_eq!(owners, 1);
            }
        }
        assert_eq!(shard_key(Some(" 1.2\0"), "a.dcm"), "study:1.2");
        assert_eq!(shard_key(Some(""), "a.jpg"), "path:a.jpg");
        assert_eq!(shard_key(None, "a.jpg"), "path:a.jpg");
    }
}
