//! Shared prefixes on a network filesystem, seen from two machines: one
//! server directory mounted twice, each mount a client with caches of its
//! own (issue 26).
//!
//! sshfs: an sshd of the test's own (its host key, client key and
//! configuration in a temporary directory, listening on a free loopback
//! port; nothing of the system's ssh configuration is read or touched),
//! and two `sshfs` mounts of one directory with sshfs's default caching
//! (listings and attributes kept 20 s). Torn down on drop: both mounts, and
//! the sshd this fixture started, by its own pid file.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One server directory, two client mounts of it.
pub struct TwoClients {
    /// The directory the server exports (written only through the clients).
    pub server: PathBuf,
    /// Client A's mount.
    pub a: PathBuf,
    /// Client B's mount.
    pub b: PathBuf,
    pid_file: PathBuf,
    mounted: Vec<PathBuf>,
    _dir: tempfile::TempDir,
}

/// Why the fixture cannot be set up here (printed by the skipping test).
pub type Skip = String;

impl TwoClients {
    /// sshfs through an sshd of the fixture's own. `Err` (a reason to skip)
    /// where this is not root or sshd or sshfs is not installed
    /// (tests/run-all.sh installs them as root).
    pub fn sshfs() -> Result<TwoClients, Skip> {
        if !super::is_root() {
            return Err("needs root (an sshd of its own, FUSE mounts)".into());
        }
        let sshd = Path::new("/usr/sbin/sshd");
        if !sshd.exists() || Command::new("sshfs").arg("--version").output().is_err() {
            return Err(
                "sshd or sshfs is not installed (tests/run-all.sh installs them as root)".into(),
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("stagemerge-sshfs-")
            .tempdir()
            .unwrap();
        let p = |n: &str| dir.path().join(n);
        for key in ["host_key", "client_key"] {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", ""])
                .arg("-f")
                .arg(p(key)));
        }
        std::fs::copy(p("client_key.pub"), p("authorized_keys")).unwrap();
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\n\
             AuthorizedKeysFile {}\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
             StrictModes no\nSubsystem sftp internal-sftp\nLogLevel ERROR\n",
            p("host_key").display(),
            p("sshd.pid").display(),
            p("authorized_keys").display(),
        );
        std::fs::write(p("sshd_config"), config).unwrap();
        // sshd's privilege separation directory; a runtime directory that
        // any sshd needs, created empty where the system has none.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let mut fixture = TwoClients {
            server: p("server"),
            a: p("a"),
            b: p("b"),
            pid_file: p("sshd.pid"),
            mounted: Vec::new(),
            _dir: dir,
        };
        for d in [&fixture.server, &fixture.a, &fixture.b] {
            std::fs::create_dir(d).unwrap();
        }
        let dir = fixture._dir.path().to_owned();
        run(Command::new(sshd)
            .arg("-f")
            .arg(dir.join("sshd_config"))
            .arg("-E")
            .arg(dir.join("sshd.log")));
        let options = format!(
            "IdentityFile={},StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,LogLevel=ERROR",
            dir.join("client_key").display()
        );
        for client in [fixture.a.clone(), fixture.b.clone()] {
            let source = format!("root@127.0.0.1:{}", fixture.server.display());
            let started = Instant::now();
            loop {
                let out = Command::new("sshfs")
                    .args(["-p", &port.to_string(), "-o", &options, &source])
                    .arg(&client)
                    .output()
                    .unwrap();
                if out.status.success() {
                    break;
                }
                // sshd may not listen yet.
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "sshfs {}: {}",
                    client.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            fixture.mounted.push(client);
        }
        Ok(fixture)
    }
}

impl Drop for TwoClients {
    fn drop(&mut self) {
        for m in &self.mounted {
            let _ = Command::new("fusermount3").arg("-u").arg(m).status();
            let _ = Command::new("umount").arg("-l").arg(m).output();
        }
        // Only the sshd this fixture started.
        if let Ok(pid) = std::fs::read_to_string(&self.pid_file) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[track_caller]
fn run(c: &mut Command) {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
