//! The job-array scripts in `scripts/slurm/` on a real Slurm: munged,
//! slurmctld and slurmd started here on loopback ports with a generated
//! `slurm.conf` (one node, 2 CPUs), the archive triaged as a 3-task array
//! and merged by a dependent job, the result compared with one process.
//!
//! Slurm's daemons listen on every interface, so the test insists on an
//! isolated network namespace (`scripts/test.sh` runs it in one).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::archive::{archive, read_lines, scratch};
use crate::common::peers::{Peer, free_port, require_isolated_network};
use crate::common::tool;
use crate::runs::assert_same_as_reference;

/// A Slurm cluster of one node, stopped (by pid) when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    conf: PathBuf,
    // Dropped in this order: the node, the controller, munge.
    _daemons: Vec<Peer>,
}

impl Cluster {
    fn start() -> Cluster {
        for (name, package) in [
            ("munged", "munge"),
            ("slurmctld", "slurm-wlm"),
            ("slurmd", "slurm-wlm"),
            ("sbatch", "slurm-wlm"),
        ] {
            tool(name, package);
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["munge", "state", "spool"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        // The key is the cluster's shared secret: random, owner-only.
        let mut key = [0u8; 1024];
        std::fs::File::open("/dev/urandom")
            .unwrap()
            .read_exact(&mut key)
            .unwrap();
        let key_file = d.join("munge.key");
        std::fs::write(&key_file, key).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let socket = d.join("munge/socket");
        let mut munged = Command::new("munged");
        munged
            .args(["--foreground", "--force"])
            .arg(format!("--key-file={}", key_file.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", d.join("munged.pid").display()))
            .arg(format!("--log-file={}", d.join("munged.log").display()))
            .arg(format!("--seed-file={}", d.join("munged.seed").display()));
        silence(&mut munged);
        let mut munge = Peer::start("munged", munged);
        wait_until(
            Duration::from_secs(20),
            "munged's socket",
            &mut munge,
            || socket.exists(),
        );

        let (controller_port, node_port) = (free_port(), free_port());
        let conf = d.join("slurm.conf");
        std::fs::write(
            &conf,
            format!(
                "ClusterName=hilumtest\n\
                 SlurmctldHost=localhost(127.0.0.1)\n\
                 SlurmUser=root\nSlurmdUser=root\n\
                 SlurmctldPort={controller_port}\nSlurmdPort={node_port}\n\
                 AuthType=auth/munge\nCredType=cred/munge\n\
                 AuthInfo=socket={socket}\n\
                 StateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\n\
                 SlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
                 SlurmctldLogFile={d}/slurmctld.log\nSlurmdLogFile={d}/slurmd.log\n\
                 ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n\
                 SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\n\
                 SchedulerType=sched/backfill\nMpiDefault=none\n\
                 JobAcctGatherType=jobacct_gather/none\n\
                 AccountingStorageType=accounting_storage/none\n\
                 ReturnToService=2\n\
                 CommunicationParameters=EnableIPv6\n\
                 NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN\n\
                 PartitionName=triage Nodes=localhost Default=YES MaxTime=INFINITE State=UP\n",
                socket = socket.display(),
                d = d.display(),
            ),
        )
        .unwrap();
        let mut controller_command = Command::new("slurmctld");
        controller_command.args(["-D", "-i", "-f"]).arg(&conf);
        silence(&mut controller_command);
        let mut controller = Peer::start("slurmctld", controller_command);
        controller.wait_for_port(controller_port, Duration::from_secs(30));
        let mut node_command = Command::new("slurmd");
        node_command
            .args(["-D", "-N", "localhost", "-f"])
            .arg(&conf);
        silence(&mut node_command);
        let mut node = Peer::start("slurmd", node_command);
        let cluster_conf = conf.clone();
        wait_until(Duration::from_secs(60), "the node idle", &mut node, || {
            let out = slurm(&cluster_conf, "sinfo", &["-h", "-o", "%T"]);
            String::from_utf8_lossy(&out.stdout).trim() == "idle"
        });
        Cluster {
            dir,
            conf,
            _daemons: vec![node, controller, munge],
        }
    }

    /// The daemons' logs, for a failure message.
    fn logs(&self) -> String {
        ["slurmctld.log", "slurmd.log", "munged.log"]
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                format!(
                    "--- {name}\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Slurm's daemons log to their files; their terminal output is noise.
fn silence(command: &mut Command) {
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
}

/// A Slurm client command against the test's cluster.
fn slurm(conf: &Path, name: &str, args: &[&str]) -> Output {
    Command::new(name)
        .args(args)
        .env("SLURM_CONF", conf)
        .output()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Polls `ready` every 100 ms for at most `limit`, failing if `peer` exits.
fn wait_until(limit: Duration, what: &str, peer: &mut Peer, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        if let Ok(Some(status)) = peer.child.try_wait() {
            panic!("{} exited ({status}) while waiting for {what}", peer.name);
        }
        assert!(start.elapsed() < limit, "no {what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `scontrol show job ID` as `Key=Value` pairs.
fn job_state(conf: &Path, id: &str) -> String {
    String::from_utf8_lossy(&slurm(conf, "scontrol", &["show", "job", id]).stdout).into_owned()
}

#[test]
fn a_slurm_job_array_and_its_merge_equal_one_process() {
    require_isolated_network();
    let archive = archive();
    let cluster = Cluster::start();
    let out_dir = scratch("slurm");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let submit = Command::new(root.join("scripts/slurm/submit-triage.sh"))
        .arg("3")
        .arg(&out_dir)
        .arg(&archive.root)
        .args(["--threads", "1"])
        .env("SLURM_CONF", &cluster.conf)
        .env("HILUM", env!("CARGO_BIN_EXE_hilum"))
        .output()
        .unwrap();
    let ids = String::from_utf8_lossy(&submit.stdout).into_owned();
    assert!(
        submit.status.success(),
        "submit: {}\n{}",
        String::from_utf8_lossy(&submit.stderr),
        cluster.logs()
    );
    let (array, merge) = ids.trim().split_once(' ').expect("two job ids");

    let start = Instant::now();
    loop {
        let queued = slurm(
            &cluster.conf,
            "squeue",
            &["-h", "-o", "%i %T", "-j", &format!("{array},{merge}")],
        );
        let queued = String::from_utf8_lossy(&queued.stdout).into_owned();
        if queued.trim().is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "jobs still queued after 10 minutes:\n{queued}\n{}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    for task in 0..3 {
        let state = job_state(&cluster.conf, &format!("{array}_{task}"));
        assert!(
            state.contains("JobState=COMPLETED") && state.contains("ExitCode=0:0"),
            "task {task}:\n{state}\n{}",
            cluster.logs()
        );
        assert!(
            out_dir
                .join(format!("results-{task}.jsonl.plan.json"))
                .is_file()
        );
    }
    let merged = job_state(&cluster.conf, merge);
    let log = std::fs::read_to_string(out_dir.join(format!("slurm-{merge}-merge.out")))
        .unwrap_or_default();
    assert!(
        merged.contains("JobState=COMPLETED") && merged.contains("ExitCode=0:0"),
        "merge job:\n{merged}\n{log}"
    );
    assert!(log.contains("\"duplicates\": 0"), "{log}");
    assert_same_as_reference(
        &read_lines(&out_dir.join("all.jsonl")),
        "Slurm array merged",
    );
    let csv = std::fs::read_to_string(out_dir.join("all.csv")).unwrap();
    assert_eq!(csv.lines().count(), archive.reference.len() + 1);
}
