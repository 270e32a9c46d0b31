//! The partition itself, through the library: the same shards whatever
//! order the files are listed in and whether they come from a folder or a
//! list; N shards cover the input exactly; a study never spans shards.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use hilum::triage::Shard;
use hilum::triage::plan::plan;

use crate::archive::{archive, scratch};

/// A deterministic shuffle (xorshift), so the test is reproducible.
fn shuffled<T: Clone>(items: &[T], mut seed: u64) -> Vec<T> {
    let mut items = items.to_vec();
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        items.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    items
}

fn shard_names(sources: &[PathBuf], shard: Shard) -> BTreeSet<String> {
    let plan = plan(sources, shard, 2);
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    plan.files.into_iter().map(|f| f.name).collect()
}

#[test]
fn shards_are_the_same_whatever_the_listing_and_cover_the_input_exactly() {
    let archive = archive();
    let lists = scratch("partition");
    let names: Vec<String> = archive
        .files
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let sorted = lists.join("sorted.txt");
    std::fs::write(&sorted, names.join("\n")).unwrap();
    let reversed: Vec<String> = names.iter().rev().cloned().collect();
    let shuffled_list = lists.join("shuffled.lst");
    std::fs::write(
        &shuffled_list,
        format!(
            "# shuffled\n\n{}\n",
            shuffled(&reversed, 0x9E37_79B9).join("\n")
        ),
    )
    .unwrap();

    for count in [1u64, 2, 3, 7] {
        let mut seen = BTreeMap::new();
        for index in 0..count {
            let shard = Shard { index, count };
            let from_folder = shard_names(std::slice::from_ref(&archive.root), shard);
            assert_eq!(
                from_folder,
                shard_names(std::slice::from_ref(&sorted), shard),
                "{shard}"
            );
            assert_eq!(
                from_folder,
                shard_names(std::slice::from_ref(&shuffled_list), shard),
                "{shard}"
            );
            for name in from_folder {
                if let Some(other) = seen.insert(name.clone(), index) {
                    panic!("{name} is in shards {other} and {index} of {count}");
                }
            }
        }
        let all: BTreeSet<String> = names.iter().cloned().collect();
        let covered: BTreeSet<String> = seen.keys().cloned().collect();
        assert_eq!(covered, all, "{count} shards cover every file once");
        if count == 3 {
            for index in 0..count {
                assert!(
                    seen.values().any(|&i| i == index),
                    "shard {index}/3 has work"
                );
            }
        }
        // Every generated study's images (in two folders) in one shard.
        for study in 0..crate::archive::STUDIES {
            let shards: BTreeSet<u64> = seen
                .iter()
                .filter(|(name, _)| name.contains(&format!("/study-{study:02}/")))
                .map(|(_, &index)| index)
                .collect();
            assert_eq!(
                shards.len(),
                1,
                "study {study} spans shards {shards:?} of {count}"
            );
        }
    }
}
