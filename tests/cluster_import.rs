//! The move into a real Redis Cluster with Redis's own tool: three
//! `redis-server --cluster-enabled yes` nodes on ports 30001-30003 (or
//! 30004-30006, 30007-30009 when those are taken),
//! `redis-cli --cluster create`, then `redis-cli --cluster import ...
//! --cluster-from <respd> --cluster-copy`; every key, type and TTL is read
//! back from the cluster. Skipped when redis-server is not installed.

mod common;
mod values;

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use respd::resp::Frame;
use respd::Client;
use values::{bulk, call, contents, fixtures, load, ok};

/// Three nodes on three consecutive ports from one of these; each node's
/// cluster bus is on its port + 10000, which any client socket may hold
/// for a while (it lies in the ephemeral range), so there are spares.
const BASES: [u16; 3] = [30001, 30004, 30007];

/// The cluster's nodes, killed (and their directories removed) on drop,
/// whatever the test's outcome.
struct Cluster {
    ports: [u16; 3],
    nodes: Vec<Child>,
    dir: common::process::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.kill();
            let _ = node.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn installed(program: &str) -> bool {
    let found = Command::new(program).arg("--version").output().is_ok();
    if !found {
        eprintln!("{program} is not installed: skipping");
    }
    found
}

fn addr(port: u16) -> SocketAddr {
    ([127, 0, 0, 1], port).into()
}

fn start_cluster() -> Cluster {
    let free = |base: u16| {
        (base..base + 3)
            .flat_map(|p| [p, p + 10000])
            .all(|p| TcpListener::bind(addr(p)).is_ok())
    };
    let Some(base) = BASES.into_iter().find(|&b| free(b)) else {
        panic!("no free ports for the cluster: it needs 3 of 30001-30009 and the same + 10000");
    };
    let mut cluster = Cluster {
        ports: [base, base + 1, base + 2],
        nodes: Vec::new(),
        dir: common::process::temp_dir("cluster", "import"),
    };
    for port in cluster.ports {
        let dir = cluster.dir.join(port.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ])
            .args(["--save", "", "--appendonly", "no"])
            .args(common::test_user_args())
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        cluster.nodes.push(child);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    for port in cluster.ports {
        while Client::connect(addr(port)).is_err() {
            assert!(Instant::now() < deadline, "node {port} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let nodes: Vec<String> = cluster
        .ports
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    let out = Command::new("redis-cli")
        .args(common::cli_auth_args())
        .args(["--cluster", "create"])
        .args(&nodes)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .expect("redis-cli");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Every node must agree the cluster is up before the import starts.
    for port in cluster.ports {
        let mut node = common::client(addr(port));
        loop {
            let info = bulk(call(&mut node, &["CLUSTER", "INFO"]));
            if String::from_utf8_lossy(&info).contains("cluster_state:ok") {
                break;
            }
            assert!(Instant::now() < deadline, "the cluster did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    cluster
}

/// The node holding `key` (the others answer MOVED).
fn owner(cluster: &Cluster, key: &[u8]) -> Client {
    for port in cluster.ports {
        let mut node = common::client(addr(port));
        if call(&mut node, &[&b"EXISTS"[..], key]) == Frame::Integer(1) {
            return node;
        }
    }
    panic!("no node holds {}", String::from_utf8_lossy(key));
}

/// redis-cli's login on the import's source, as the test user when the
/// tests run as it (its --user/--pass log in on the cluster's nodes).
fn source_auth_args() -> Vec<&'static str> {
    if common::as_test_user() {
        let (user, pass) = common::TEST_USER;
        vec!["--cluster-from-user", user, "--cluster-from-pass", pass]
    } else {
        Vec::new()
    }
}

#[test]
fn redis_cli_imports_a_respd_into_a_cluster() {
    if !installed("redis-server") || !installed("redis-cli") {
        return;
    }
    let cluster = start_cluster();
    let server = common::start();
    let mut respd = common::client(server.local_addr());
    // Every type, small and large, plus enough plain keys to reach every
    // node, some of them with a TTL.
    load(&mut respd);
    for i in 0..2000 {
        let key = format!("plain:{i}");
        ok(&mut respd, &["SET", &key, &i.to_string()]);
        if i % 10 == 0 {
            ok(&mut respd, &["EXPIRE", &key, "1000"]);
        }
    }
    ok(&mut respd, &["PEXPIRE", "hash:large", "900000"]);
    ok(&mut respd, &["PEXPIREAT", "zset:small", "4102444800000"]);
    let Frame::Integer(keys) = call(&mut respd, &["DBSIZE"]) else {
        panic!()
    };

    let started = Instant::now();
    let out = Command::new("redis-cli")
        .args(common::cli_auth_args())
        .args([
            "--cluster",
            "import",
            &format!("127.0.0.1:{}", cluster.ports[0]),
        ])
        .args(["--cluster-from", &server.local_addr().to_string()])
        .arg("--cluster-copy")
        .args(source_auth_args())
        .output()
        .expect("redis-cli");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("Importing {keys} keys from DB 0")),
        "{stdout}"
    );
    println!("imported {keys} keys in {:?}", started.elapsed());

    // All of it is in the cluster, spread over the nodes, and still in
    // respd (--cluster-copy).
    let mut total = 0;
    for port in cluster.ports {
        let Frame::Integer(n) = call(&mut common::client(addr(port)), &["DBSIZE"]) else {
            panic!()
        };
        assert!(n > 0, "node {port} got no key");
        total += n;
    }
    assert_eq!(total, keys);
    assert_eq!(call(&mut respd, &["DBSIZE"]), Frame::Integer(keys));
    let mut names: Vec<String> = fixtures().iter().map(|(k, _)| k.to_string()).collect();
    names.extend((0..2000).step_by(7).map(|i| format!("plain:{i}")));
    for name in &names {
        let key = name.as_bytes();
        let mut node = owner(&cluster, key);
        assert_eq!(
            contents(&mut node, key),
            contents(&mut respd, key),
            "{name}"
        );
        let ttl = |c: &mut Client| match call(c, &[&b"PTTL"[..], key]) {
            Frame::Integer(ms) => ms,
            other => panic!("{other:?}"),
        };
        let (theirs, mine) = (ttl(&mut node), ttl(&mut respd));
        // Both count down; the cluster's copy was made a moment ago.
        assert_eq!(theirs == -1, mine == -1, "{name}");
        assert!((theirs - mine).abs() < 60_000, "{name}: {theirs} vs {mine}");
    }
    drop(cluster);
}
