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

use super::corpus::sh;

/// One server directory, two client mounts of it.
pub struct TwoClients {
    /// Which filesystem: `sshfs`, `glusterfs`, `moosefs`.
    pub kind: &'static str,
    /// The directory the server exports (written only through the clients).
    pub server: PathBuf,
    /// Client A's mount.
    pub a: PathBuf,
    /// Client B's mount.
    pub b: PathBuf,
    daemons: Daemons,
    mounted: Vec<PathBuf>,
    _dir: tempfile::TempDir,
}

/// What the fixture started, to stop on drop (and nothing else).
enum Daemons {
    /// An sshd, by its pid file.
    Sshd(PathBuf),
    /// glusterd and its brick in a network namespace of the fixture's own.
    Gluster {
        netns: Netns,
        socket: PathBuf,
        volume: String,
    },
    /// MooseFS's master and chunkserver in a namespace of the fixture's own.
    Moose(Netns),
}

/// A network namespace of the fixture's own (`smg-nsN`), reached from this
/// side over a veth pair (`smgNh` here, `smgNn` there) with addresses of
/// its own (10.231.N.1 here, 10.231.N.2 there): servers that refuse
/// loopback addresses run there, and nothing reaches this machine's own
/// interfaces. Dropping it kills what runs in it, then deletes it (and the
/// veth pair with it).
pub struct Netns {
    name: String,
    /// The server's address, inside the namespace.
    pub ip: String,
}

impl Netns {
    fn create() -> Result<Netns, Skip> {
        let n = free_netns_slot().ok_or("no free network namespace slot")?;
        let name = format!("smg-ns{n}");
        let (host_end, ns_end) = (format!("smg{n}h"), format!("smg{n}n"));
        let ns = Netns {
            ip: format!("10.231.{n}.2"),
            name,
        };
        sh(Command::new("ip").args(["netns", "add", &ns.name]));
        sh(Command::new("ip").args([
            "link", "add", &host_end, "type", "veth", "peer", "name", &ns_end,
        ]));
        sh(Command::new("ip").args(["link", "set", &ns_end, "netns", &ns.name]));
        sh(Command::new("ip").args(["addr", "add", &format!("10.231.{n}.1/24"), "dev", &host_end]));
        sh(Command::new("ip").args(["link", "set", &host_end, "up"]));
        sh(&mut ns.run(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", ns.ip),
            "dev",
            &ns_end,
        ]));
        sh(&mut ns.run(&["ip", "link", "set", &ns_end, "up"]));
        sh(&mut ns.run(&["ip", "link", "set", "lo", "up"]));
        Ok(ns)
    }

    /// `args` to run in the namespace.
    fn run(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(args);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
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
            sh(Command::new("ssh-keygen")
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
            kind: "sshfs",
            server: p("server"),
            a: p("a"),
            b: p("b"),
            daemons: Daemons::Sshd(p("sshd.pid")),
            mounted: Vec::new(),
            _dir: dir,
        };
        for d in [&fixture.server, &fixture.a, &fixture.b] {
            std::fs::create_dir(d).unwrap();
        }
        let dir = fixture._dir.path().to_owned();
        sh(Command::new(sshd)
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
            // sshd may not listen yet.
            retry("sshd to answer", || {
                Command::new("sshfs")
                    .args(["-p", &port.to_string(), "-o", &options, &source])
                    .arg(&client)
                    .output()
            });
            wait_mounted(&client);
            fixture.mounted.push(client);
        }
        Ok(fixture)
    }
}

impl TwoClients {
    /// GlusterFS 10: glusterd and one brick in a network namespace the
    /// fixture creates (GlusterFS refuses loopback addresses), reached over
    /// a veth pair with addresses of its own; two `mount -t glusterfs`
    /// clients on this side. glusterd's working directory, socket, pid file
    /// and logs are in the fixture's temporary directory.
    pub fn glusterfs() -> Result<TwoClients, Skip> {
        if !super::is_root() {
            return Err("needs root (a network namespace, FUSE mounts)".into());
        }
        if !Path::new("/usr/sbin/glusterd").exists()
            || Command::new("ip").arg("-V").output().is_err()
        {
            return Err(
                "glusterd or ip is not installed (tests/run-all.sh installs them as root)".into(),
            );
        }
        let netns = Netns::create()?;
        let server_ip = netns.ip.clone();
        let ns_name = netns.name.clone();
        let dir = tempfile::Builder::new()
            .prefix("stagemerge-gluster-")
            .tempdir()
            .unwrap();
        let base = dir.path().to_owned();
        let p = |x: &str| base.join(x);
        for d in ["work", "brick", "a", "b"] {
            std::fs::create_dir(p(d)).unwrap();
        }
        let volume = format!("{ns_name}-v{}", std::process::id());
        let socket = p("glusterd.socket");
        let mut fixture = TwoClients {
            kind: "glusterfs",
            server: p("brick"),
            a: p("a"),
            b: p("b"),
            daemons: Daemons::Gluster {
                netns,
                socket: socket.clone(),
                volume: volume.clone(),
            },
            mounted: Vec::new(),
            _dir: dir,
        };
        let in_ns = |args: &[&str]| {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &ns_name]).args(args);
            c
        };
        let vol = format!(
            "volume management\n    type mgmt/glusterd\n    option working-directory {}\n    \
             option transport-type socket\n    option transport.socket.bind-address {server_ip}\n    \
             option glusterd-sockfile {}\n    option ping-timeout 0\n    \
             option event-threads 1\nend-volume\n",
            p("work").display(),
            socket.display()
        );
        std::fs::write(p("glusterd.vol"), vol).unwrap();
        let (vol_file, pid_file, log) = (p("glusterd.vol"), p("glusterd.pid"), p("glusterd.log"));
        sh(&mut in_ns(&[
            "glusterd",
            "-f",
            vol_file.to_str().unwrap(),
            "-p",
            pid_file.to_str().unwrap(),
            "-l",
            log.to_str().unwrap(),
        ]));
        let gluster = |args: &[&str]| {
            let mut c = in_ns(&["gluster", "--mode=script"]);
            c.arg(format!("--glusterd-sock={}", socket.display()))
                .args(args);
            c
        };
        let brick = format!("{server_ip}:{}", fixture.server.display());
        retry("glusterd to answer", || {
            gluster(&["volume", "create", &volume, &brick, "force"]).output()
        });
        sh(&mut gluster(&["volume", "start", &volume]));
        for client in [fixture.a.clone(), fixture.b.clone()] {
            let log = fixture._dir.path().join(format!(
                "client-{}.log",
                client.file_name().unwrap().to_string_lossy()
            ));
            retry("the volume to mount", || {
                Command::new("mount")
                    .args(["-t", "glusterfs", "-o"])
                    .arg(format!("log-file={}", log.display()))
                    .arg(format!("{server_ip}:/{volume}"))
                    .arg(&client)
                    .output()
            });
            wait_mounted(&client);
            fixture.mounted.push(client);
        }
        Ok(fixture)
    }
}

impl TwoClients {
    /// MooseFS 3: `mfsmaster` and one `mfschunkserver` in a network
    /// namespace the fixture creates (their metadata, chunks, configuration
    /// and locks in the fixture's temporary directory), two `mfsmount`
    /// clients with MooseFS's default caching on this side, and a third
    /// with its caches off as `server` (MooseFS keeps files as chunks: no
    /// directory shows them as they are but a client's).
    pub fn moosefs() -> Result<TwoClients, Skip> {
        if !super::is_root() {
            return Err("needs root (a network namespace, FUSE mounts)".into());
        }
        let empty = Path::new("/var/lib/mfs/metadata.mfs.empty");
        if !Path::new("/usr/sbin/mfsmaster").exists()
            || !Path::new("/usr/sbin/mfschunkserver").exists()
            || !empty.exists()
            || Command::new("mfsmount").arg("--version").output().is_err()
            || Command::new("ip").arg("-V").output().is_err()
        {
            return Err(
                "MooseFS (moosefs-master, -chunkserver, -client) or ip is not installed \
                 (tests/run-all.sh installs them as root)"
                    .into(),
            );
        }
        let netns = Netns::create()?;
        let ip = netns.ip.clone();
        let dir = tempfile::Builder::new()
            .prefix("stagemerge-moosefs-")
            .tempdir()
            .unwrap();
        let base = dir.path().to_owned();
        let p = |x: &str| base.join(x);
        for d in ["master", "cs", "hdd", "a", "b", "server"] {
            std::fs::create_dir(p(d)).unwrap();
        }
        std::fs::copy(empty, p("master/metadata.mfs")).unwrap();
        std::fs::write(p("exports.cfg"), "*\t/\trw,alldirs,maproot=0:0\n").unwrap();
        std::fs::write(p("topology.cfg"), "").unwrap();
        std::fs::write(p("hdd.cfg"), format!("{}\n", p("hdd").display())).unwrap();
        let common = "WORKING_USER = root\nWORKING_GROUP = root\nLOCK_MEMORY = 0\n";
        std::fs::write(
            p("master.cfg"),
            format!(
                "{common}DATA_PATH = {}\nEXPORTS_FILENAME = {}\nTOPOLOGY_FILENAME = {}\n\
                 MATOML_LISTEN_HOST = {ip}\nMATOCS_LISTEN_HOST = {ip}\nMATOCL_LISTEN_HOST = {ip}\n\
                 SYSLOG_IDENT = stagemerge-mfsmaster\n",
                p("master").display(),
                p("exports.cfg").display(),
                p("topology.cfg").display()
            ),
        )
        .unwrap();
        std::fs::write(
            p("cs.cfg"),
            format!(
                "{common}DATA_PATH = {}\nHDD_CONF_FILENAME = {}\nMASTER_HOST = {ip}\n\
                 BIND_HOST = {ip}\nCSSERV_LISTEN_HOST = {ip}\nHDD_LEAVE_SPACE_DEFAULT = 64MiB\n\
                 SYSLOG_IDENT = stagemerge-mfschunkserver\n",
                p("cs").display(),
                p("hdd.cfg").display()
            ),
        )
        .unwrap();
        let master_cfg = p("master.cfg");
        let cs_cfg = p("cs.cfg");
        let mut fixture = TwoClients {
            kind: "moosefs",
            server: p("server"),
            a: p("a"),
            b: p("b"),
            daemons: Daemons::Moose(netns),
            mounted: Vec::new(),
            _dir: dir,
        };
        let Daemons::Moose(netns) = &fixture.daemons else {
            unreachable!()
        };
        let cfg = |c: &Path| c.to_str().unwrap().to_owned();
        sh(&mut netns.run(&["mfsmaster", "-c", &cfg(&master_cfg), "start"]));
        sh(&mut netns.run(&["mfschunkserver", "-c", &cfg(&cs_cfg), "start"]));
        let clients = [
            (fixture.a.clone(), &[][..]),
            (fixture.b.clone(), &[][..]),
            (
                fixture.server.clone(),
                &[
                    "-o",
                    "mfsattrcacheto=0,mfsentrycacheto=0,mfsdirentrycacheto=0",
                ][..],
            ),
        ];
        for (client, opts) in clients {
            retry("the MooseFS master to answer", || {
                Command::new("mfsmount")
                    .args(["-H", &ip])
                    .args(opts)
                    .arg(&client)
                    .output()
            });
            wait_mounted(&client);
            fixture.mounted.push(client);
        }
        // Files can be written once the chunkserver has registered.
        let probe = fixture.a.join(".ready");
        retry("the MooseFS chunkserver to take data", || {
            Command::new("sh")
                .arg("-c")
                .arg(r#"echo ready > "$1" && [ "$(cat "$1")" = ready ]"#)
                .args(["sh", probe.to_str().unwrap()])
                .output()
        });
        std::fs::remove_file(&probe).unwrap();
        Ok(fixture)
    }
}

/// The first n in 1..=250 whose namespace (`smg-nsN`) and veth (`smgNh`)
/// do not exist, starting from this process's id plus the fixtures it
/// made before (fixtures of one process start at once, in test threads).
fn free_netns_slot() -> Option<u32> {
    static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let taken = Command::new("ip").args(["netns", "list"]).output().ok()?;
    let taken = String::from_utf8_lossy(&taken.stdout).into_owned();
    let made = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let start = (std::process::id() + made) % 250;
    (0..250).map(|i| (start + i) % 250 + 1).find(|n| {
        let name = format!("smg-ns{n} ");
        !taken.lines().any(|l| format!("{l} ").starts_with(&name))
            && !Path::new(&format!("/sys/class/net/smg{n}h")).exists()
    })
}

/// Runs `attempt` until it succeeds, for up to 20 s.
#[track_caller]
fn retry(what: &str, mut attempt: impl FnMut() -> std::io::Result<std::process::Output>) {
    let started = Instant::now();
    loop {
        let out = attempt().unwrap();
        if out.status.success() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "waiting for {what}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Drop for TwoClients {
    fn drop(&mut self) {
        for m in &self.mounted {
            let _ = Command::new("fusermount3").arg("-u").arg(m).output();
            let _ = Command::new("umount").arg("-l").arg(m).output();
        }
        match &self.daemons {
            // Only the sshd this fixture started.
            Daemons::Sshd(pid_file) => {
                if let Ok(pid) = std::fs::read_to_string(pid_file) {
                    let _ = Command::new("kill").arg(pid.trim()).status();
                }
            }
            // Only what runs in the fixture's own namespace: glusterd and
            // the brick it started; then the namespace (and the veth pair).
            // (The namespace goes when `netns` is dropped, after this.)
            Daemons::Gluster {
                netns,
                socket,
                volume,
            } => {
                let _ = netns
                    .run(&["gluster", "--mode=script"])
                    .arg(format!("--glusterd-sock={}", socket.display()))
                    .args(["volume", "stop", volume, "force"])
                    .output();
                let _ = std::fs::remove_dir_all(format!("/var/run/gluster/vols/{volume}"));
            }
            Daemons::Moose(_) => {}
        }
    }
}

/// Waits until `point` is a mount point: a FUSE daemon may return before
/// the kernel has the mount, and a test that ran then would write the
/// directory below it.
#[track_caller]
fn wait_mounted(point: &Path) {
    let started = Instant::now();
    while !mounted(point) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{} was never mounted",
            point.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether `point` is a mount point now (`/proc/self/mountinfo`).
fn mounted(point: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let point = point.to_string_lossy();
    info.lines()
        .any(|l| l.split(' ').nth(4).is_some_and(|p| p == point))
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// rclone's FUSE mount of a local directory: no hard links (EIO) and no
/// `RENAME_NOREPLACE` (EINVAL), as a network filesystem without either.
/// Unmounted on drop.
pub struct Rclone {
    /// The mount point.
    pub point: PathBuf,
    _dir: tempfile::TempDir,
}

impl Rclone {
    /// `Err` (a reason to skip) where this is not root or rclone is not
    /// installed (tests/run-all.sh installs it as root).
    pub fn mount() -> Result<Rclone, Skip> {
        if !super::is_root() {
            return Err("needs root (a FUSE mount)".into());
        }
        if Command::new("rclone").arg("version").output().is_err() {
            return Err("rclone is not installed (tests/run-all.sh installs it as root)".into());
        }
        let dir = tempfile::Builder::new()
            .prefix("stagemerge-rclone-")
            .tempdir()
            .unwrap();
        let (real, point) = (dir.path().join("real"), dir.path().join("mnt"));
        std::fs::create_dir(&real).unwrap();
        std::fs::create_dir(&point).unwrap();
        sh(Command::new("rclone")
            .arg("mount")
            .arg(format!(":local:{}", real.display()))
            .arg(&point)
            .args(["--daemon", "--config", "/dev/null"]));
        wait_mounted(&point);
        Ok(Rclone { point, _dir: dir })
    }
}

impl Drop for Rclone {
    fn drop(&mut self) {
        let _ = Command::new("fusermount3")
            .arg("-u")
            .arg(&self.point)
            .status();
        let _ = Command::new("umount").arg("-l").arg(&self.point).output();
    }
}
