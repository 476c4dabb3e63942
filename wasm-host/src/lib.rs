//! Runs the stagemerge core inside Wasmtime, where it can reach nothing but
//! the directories it is given.
//!
//! The guest (stagemerge-core's `stagemerge-guest` binary, `core/guest/`,
//! built for `wasm32-wasip1` by this crate's build script and embedded
//! here) is the same core the native binary runs. It sees STAGE at `/stage`
//! and TARGET at `/target` as WASI preview 1 preopens, read-only for a plan,
//! and the directories of the records a command reads or writes at `/dir0`,
//! `/dir1`, ... What preview 1 cannot say or do (permission bits, owners,
//! absolute symlink texts, a long listing in one call, a directory's sync)
//! it asks through host imports (`imports.rs`) that read, plus two that
//! write and are refused in a read-only run (a created directory's mode, a
//! directory's sync), answered by the caller's native [`Fs`] on the
//! caller's own handles to the preopened directories. Start-up is dominated
//! by loading the module, which is precompiled once and cached
//! (`module_cache.rs`).
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod imports;
mod module_cache;

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use stagemerge_core::Fs;
pub use stagemerge_core::abi::{Command, Request};
use stagemerge_core::abi::{STAGE_PATH, TARGET_PATH};
use wasmtime::{Config, Engine, Linker, Module, Store};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::imports::HostFs;
pub use crate::module_cache::{Origin, cache_dir};

/// The guest module, as built for `wasm32-wasip1`.
pub const GUEST_WASM: &[u8] = include_bytes!(env!("STAGEMERGE_GUEST_WASM"));

/// SHA-256 of [`GUEST_WASM`], in hex (computed when it was built).
pub const GUEST_SHA256: &str = env!("STAGEMERGE_GUEST_SHA256");

pub use stagemerge_core::abi::Access;

/// One root handed to the guest: the host path WASI preopens, and the
/// caller's handle to the same directory for the host imports.
#[derive(Debug)]
pub struct Root<'p, D> {
    /// The directory's path on the host.
    pub path: &'p Path,
    /// The caller's open handle to it.
    pub dir: D,
}

/// A loaded guest, ready to run any number of times.
#[derive(Debug)]
pub struct Sandbox {
    engine: Engine,
    module: Module,
    origin: Origin,
}

struct State<F: Fs> {
    wasi: WasiP1Ctx,
    host: HostFs<F>,
}

impl Sandbox {
    /// Loads the embedded guest, from the precompiled cache when possible.
    pub fn load() -> Result<Sandbox> {
        Self::load_module(GUEST_WASM, GUEST_SHA256)
    }

    /// Loads another module (a test binary, for example) the same way;
    /// `sha256` names it in the cache.
    pub fn load_module(wasm: &[u8], sha256: &str) -> Result<Sandbox> {
        let engine = wt(Engine::new(&Config::new()), "start Wasmtime")?;
        let (module, origin) = module_cache::load(&engine, wasm, sha256)?;
        Ok(Sandbox {
            engine,
            module,
            origin,
        })
    }

    /// Whether this load found the module precompiled in the cache.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Runs the guest on `request` (handed over by the `request` import: the
    /// guest has no command line), STAGE, TARGET and each of `extra` (the
    /// directories of the merge's records, at
    /// [`stagemerge_core::abi::extra_root`]) preopened with `access`, and the
    /// host imports answered by `fs` on those handles. The guest's stdout
    /// and stderr are this process's. Returns the guest's exit status.
    pub fn run<F: Fs + Send + 'static>(
        &self,
        fs: F,
        stage: Root<'_, F::Dir>,
        target: Root<'_, F::Dir>,
        extra: Vec<Root<'_, F::Dir>>,
        access: Access,
        request: &Request,
    ) -> Result<i32>
    where
        F::Dir: Send,
    {
        let perms = match access {
            Access::ReadOnly => FsPerms::ReadOnly,
            Access::ReadWrite => FsPerms::ReadWrite,
        };
        let mut b = WasiCtxBuilder::new();
        // Set before the preopens: each preopen takes the setting when added.
        b.allow_blocking_current_thread(true)
            .inherit_stdout()
            .inherit_stderr()
            .arg("stagemerge-guest");
        let preopen = |b: &mut WasiCtxBuilder, root: &Root<'_, F::Dir>, at: &str, role: &str| {
            let what = format!("preopen {role} {}", root.path.display());
            wt(b.preopened_dir(root.path, at, perms).map(drop), &what)
        };
        preopen(&mut b, &stage, STAGE_PATH, "STAGE")?;
        preopen(&mut b, &target, TARGET_PATH, "TARGET")?;
        for (i, root) in extra.iter().enumerate() {
            let (_, at) = stagemerge_core::abi::extra_root(i);
            preopen(&mut b, root, &at, "the directory of a record")?;
        }
        let mut roots = vec![stage.dir, target.dir];
        roots.extend(extra.into_iter().map(|r| r.dir));
        let state = State {
            wasi: b.build_p1(),
            host: HostFs::new(fs, request.encode(), roots, access == Access::ReadWrite),
        };
        let mut linker: Linker<State<F>> = Linker::new(&self.engine);
        wt(
            p1::add_to_linker_sync(&mut linker, |s: &mut State<F>| &mut s.wasi),
            "link WASI",
        )?;
        imports::add_to_linker(&mut linker, |s: &mut State<F>| &mut s.host)?;
        self.start(linker, state)
    }

    /// Runs a module that needs no directories and no host imports (a test
    /// binary) with `args`; unknown imports trap if called.
    pub fn run_plain(&self, args: &[String]) -> Result<i32> {
        let mut b = WasiCtxBuilder::new();
        b.allow_blocking_current_thread(true)
            .inherit_stdio()
            .inherit_env()
            .args(args);
        let mut linker: Linker<WasiP1Ctx> = Linker::new(&self.engine);
        wt(p1::add_to_linker_sync(&mut linker, |s| s), "link WASI")?;
        wt(
            linker.define_unknown_imports_as_traps(&self.module),
            "link the module's other imports",
        )?;
        self.start(linker, b.build_p1())
    }

    fn start<T: 'static>(&self, linker: Linker<T>, state: T) -> Result<i32> {
        let mut store = Store::new(&self.engine, state);
        let instance = wt(
            linker.instantiate(&mut store, &self.module),
            "instantiate the sandbox guest",
        )?;
        let start = wt(
            instance.get_typed_func::<(), ()>(&mut store, "_start"),
            "find the guest's _start",
        )?;
        match start.call(&mut store, ()) {
            Ok(()) => Ok(0),
            Err(e) => match e.downcast_ref::<I32Exit>() {
                Some(exit) => Ok(exit.0),
                None => Err(anyhow!("the sandbox guest failed: {e:?}")),
            },
        }
    }
}

/// A Wasmtime result as an `anyhow` one, with what was being done.
pub(crate) fn wt<T>(r: wasmtime::Result<T>, what: &str) -> Result<T> {
    r.map_err(anyhow::Error::from).context(what.to_owned())
}
