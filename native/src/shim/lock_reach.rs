//! Whether a lock taken on a file excludes every process that can write
//! the filesystem, or only those of this machine (issue 26, 5).
//!
//! On a local filesystem every writer is on this machine, so flock(2)
//! excludes them all. A network filesystem passes a lock to its server only
//! if its client does: NFS does (flock is sent as a whole-file lock) unless
//! mounted `local_lock=flock|all`; GlusterFS's and MooseFS's FUSE clients
//! do; sshfs does not (the kernel keeps the lock on this machine, and a
//! merge through another machine's mount takes the "same" lock at once);
//! Lustre does only when mounted `flock`. Where the kernel cannot tell a
//! program, the mount's type and options can: this is a pure function of
//! them, and `shim` reads them for the lock file (Linux:
//! `/proc/self/mountinfo`).

/// How far a lock on a filesystem reaches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Every process that can write the filesystem is excluded.
    Everyone,
    /// Only processes on this machine are; the text says why.
    ThisMachine(String),
    /// Not looked at on this platform (no mount table read).
    Unchecked,
}

/// Local filesystems: every writer is on this machine.
const LOCAL: &[&str] = &[
    "ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "ramfs", "zfs", "f2fs", "jfs", "reiserfs",
    "bcachefs", "vfat", "exfat", "ntfs3", "ntfs", "overlay", "hfsplus", "nilfs2", "udf",
];

/// Cluster filesystems whose clients pass locks to the servers.
const PASSED_ON: &[&str] = &[
    "fuse.glusterfs",
    "fuse.mfs",
    "fuse.moosefs",
    "fuse.ceph-fuse",
    "fuse.ceph",
    "ceph",
    "gfs2",
    "ocfs2",
    "gpfs",
    "cifs",
    "smb3",
];

/// How far an flock(2) on a filesystem of type `fstype` (as mountinfo
/// names it: `ext4`, `nfs4`, `fuse.sshfs`) mounted with the
/// comma-separated `options` (the mount's and the superblock's) reaches.
pub(crate) fn reach(fstype: &str, options: &str) -> Reach {
    let has = |o: &str| options.split(',').any(|x| x == o);
    match fstype {
        t if LOCAL.contains(&t) || PASSED_ON.contains(&t) => Reach::Everyone,
        "nfs" | "nfs4" => match options
            .split(',')
            .find_map(|o| o.strip_prefix("local_lock="))
        {
            Some(l @ ("flock" | "all")) => Reach::ThisMachine(format!(
                "{fstype} mounted with local_lock={l} keeps flock locks on this machine"
            )),
            _ => Reach::Everyone,
        },
        "lustre" if has("flock") => Reach::Everyone,
        "lustre" => Reach::ThisMachine(
            "lustre mounted without the flock option keeps locks on this machine (or refuses them)"
                .into(),
        ),
        "fuse.sshfs" => Reach::ThisMachine(
            "sshfs keeps locks on this machine: SFTP has no locks to pass them on with".into(),
        ),
        "fuse.rclone" => Reach::ThisMachine("rclone's mount keeps locks on this machine".into()),
        t => Reach::ThisMachine(format!(
            "stagemerge does not know that {t} passes locks on to other machines"
        )),
    }
}

/// Whether a filesystem of type `fstype` is one whose client may answer
/// `stat` and listings from what it saw earlier: FUSE filesystems (sshfs
/// caches both for 20 s; GlusterFS's md-cache attributes for 1 s), NFS (its
/// attribute cache), SMB and 9p. Local filesystems, and cluster filesystems
/// whose clients hold coherent caches (CephFS's kernel client, GFS2,
/// OCFS2, Lustre), answer currently.
pub(crate) fn caches_views(fstype: &str) -> bool {
    fstype == "fuse"
        || fstype.starts_with("fuse.")
        || matches!(fstype, "nfs" | "nfs4" | "cifs" | "smb3" | "9p" | "fuseblk")
}

/// Whether a filesystem of type `fstype` stamps change times in whole
/// seconds: MooseFS (its master keeps seconds) and sshfs (SFTP version 3
/// carries seconds, and its change time is the modification time). A
/// merge's start on one is the second it began in, and a merge without
/// records waits for the next second before it looks at TARGET: a write
/// another client makes after that has a later change time (core's
/// `merge::start`).
pub(crate) fn whole_second_times(fstype: &str) -> bool {
    matches!(fstype, "fuse.mfs" | "fuse.sshfs")
}

/// `stamp` cut to its whole second (a whole-second filesystem's clock).
pub(crate) fn to_whole_second(stamp: stagemerge_core::fs::Stamp) -> stagemerge_core::fs::Stamp {
    stagemerge_core::fs::Stamp {
        secs: stamp.secs,
        nanos: 0,
    }
}

/// The filesystem type and options (mount's and superblock's, joined) of
/// the mountinfo line for device `major:minor`, from the text of
/// `/proc/self/mountinfo`. `None` where no line has it.
pub(crate) fn mount_of(mountinfo: &str, major: u32, minor: u32) -> Option<(String, String)> {
    let dev = format!("{major}:{minor}");
    mountinfo.lines().rev().find_map(|line| {
        // ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS...] - TYPE SOURCE SUPER
        let (left, right) = line.split_once(" - ")?;
        let fields: Vec<&str> = left.split(' ').collect();
        if fields.get(2) != Some(&dev.as_str()) {
            return None;
        }
        let mut r = right.split(' ');
        let mut fstype = r.next()?.to_owned();
        let source = r.next().unwrap_or("");
        // An older libfuse mounts as plain `fuse` and names the filesystem
        // in the source instead (MooseFS: `mfs#HOST:PORT`, `#` escaped).
        if fstype == "fuse"
            && let Some((name, _)) = source.split_once("\\043").or(source.split_once('#'))
            && !name.is_empty()
        {
            fstype = format!("fuse.{name}");
        }
        let sup = r.next().unwrap_or("");
        let opts = fields.get(5).copied().unwrap_or("");
        Some((fstype, format!("{opts},{sup}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fuse_mount_named_by_its_source_is_that_filesystem() {
        let info = "59 27 0:43 / /m rw,relatime - fuse mfs\\04310.231.7.2:9421 rw,user_id=0\n\
                    60 27 0:44 / /n rw,relatime - fuse /dev/fuse rw,user_id=0\n";
        let (t, _) = mount_of(info, 0, 43).unwrap();
        assert_eq!(t, "fuse.mfs");
        assert_eq!(reach(&t, ""), Reach::Everyone);
        assert_eq!(
            mount_of(info, 0, 44).unwrap().0,
            "fuse",
            "no name in the source"
        );
    }

    #[test]
    fn moosefs_and_sshfs_stamp_whole_seconds_and_others_finer() {
        assert!(whole_second_times("fuse.mfs") && whole_second_times("fuse.sshfs"));
        for t in [
            "ext4",
            "tmpfs",
            "xfs",
            "btrfs",
            "fuse.glusterfs",
            "nfs4",
            "ceph",
        ] {
            assert!(!whole_second_times(t), "{t}");
        }
        let s = stagemerge_core::fs::Stamp {
            secs: 1_800_000_000,
            nanos: 999_999_999,
        };
        assert_eq!(
            to_whole_second(s),
            stagemerge_core::fs::Stamp {
                secs: 1_800_000_000,
                nanos: 0
            }
        );
    }

    #[test]
    fn local_and_cluster_filesystems_lock_for_everyone() {
        for t in ["ext4", "tmpfs", "xfs", "fuse.glusterfs", "fuse.mfs", "ceph"] {
            assert_eq!(reach(t, "rw,relatime"), Reach::Everyone, "{t}");
        }
        assert_eq!(
            reach("nfs4", "rw,vers=4.2,local_lock=none"),
            Reach::Everyone
        );
        assert_eq!(reach("lustre", "rw,flock"), Reach::Everyone);
    }

    #[test]
    fn sshfs_local_nfs_locks_and_unknown_fuse_lock_this_machine_only() {
        for (t, o) in [
            ("fuse.sshfs", "rw,user_id=0"),
            ("nfs", "rw,local_lock=flock"),
            ("nfs4", "rw,local_lock=all"),
            ("lustre", "rw,localflock"),
            ("lustre", "rw"),
            ("fuse.rclone", "rw"),
            ("fuse", "rw"),
            ("fuse.bindfs", "rw"),
        ] {
            assert!(matches!(reach(t, o), Reach::ThisMachine(_)), "{t} {o}");
        }
    }

    #[test]
    fn fuse_nfs_and_smb_clients_cache_views_local_filesystems_do_not() {
        for t in ["fuse.sshfs", "fuse.glusterfs", "fuse", "nfs4", "cifs"] {
            assert!(caches_views(t), "{t}");
        }
        for t in ["ext4", "tmpfs", "xfs", "ceph", "lustre", "overlay"] {
            assert!(!caches_views(t), "{t}");
        }
    }

    #[test]
    fn the_mount_of_a_device_is_its_last_line_in_mountinfo() {
        let info = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
45 27 0:40 / /mnt/a rw,nosuid,nodev,relatime - fuse.sshfs root@h:/srv rw,user_id=0,group_id=0
46 27 0:41 / /mnt/b rw,relatime - nfs4 h:/x rw,vers=4.2,local_lock=flock
47 27 0:41 / /mnt/c rw,relatime - tmpfs none rw";
        assert_eq!(
            mount_of(info, 0, 40).map(|m| m.0),
            Some("fuse.sshfs".into())
        );
        assert_eq!(mount_of(info, 0, 41).map(|m| m.0), Some("tmpfs".into()));
        let (t, o) = mount_of(info, 8, 1).unwrap();
        assert_eq!((t.as_str(), o.as_str()), ("ext4", "rw,relatime,rw"));
        assert_eq!(mount_of(info, 9, 9), None);
        let (t, o) = mount_of(info, 0, 40).unwrap();
        assert!(matches!(reach(&t, &o), Reach::ThisMachine(_)));
    }
}
