"""
sage-spkg-uninstall with stagemerge: removes a package's recorded files
with `stagemerge uninstall`, which keeps every file that another installed
package lists (another Sage package's record, or the RECORD of another
Python distribution in the tree's site-packages), puts back the version of
the remaining owner that the package had replaced (from stagemerge's
clobber store), and removes the record last.

Everything else is upstream's (sage_bootstrap/uninstall.py): the command
line, the search for the package's records (`<package>-*` in
var/lib/sage/installed, the newest by mtime), the spkg-prerm, spkg-piprm
and spkg-postrm scripts in that order, the legacy uninstaller for a
package without a record with a `files` list, `--keep-files`. Without
stagemerge on PATH (or with SAGE_STAGEMERGE=no) upstream's uninstall runs.

Where it differs from upstream on purpose:
- a record stagemerge refuses (a path that leaves the tree, names its own
  state, is not canonical...; records are input, not truth) removes
  nothing: upstream would remove what it names;
- a modified file is kept and the record with it (exit 1), as `stagemerge
  uninstall` without --force does;
- the record of an install that ended after its files were moved but
  before the installation record was written (`.<package>-<version>
  .stagemerge-pending`, see build/bin/sage-spkg-stagemerge) is uninstalled
  too, unless its merge was interrupted (its journal is there: the next
  install of the package finishes it).
"""

from __future__ import print_function

import glob
import json
import os
import shutil
import subprocess
import sys

from . import uninstall as upstream

pth = os.path

# Upstream reads a record whole with json.load; a larger file is no record
# (stagemerge refuses the same size).
MAX_RECORD_BYTES = 128 << 20


def stagemerge():
    """The stagemerge executable, or None to run upstream's uninstall."""
    if os.environ.get('SAGE_STAGEMERGE', 'yes') == 'no':
        return None
    return shutil.which('stagemerge')


def has_files_list(stamp_file):
    """Whether upstream would read `stamp_file` as a modern record."""
    try:
        if os.lstat(stamp_file).st_size > MAX_RECORD_BYTES:
            # Not upstream's legacy case: stagemerge refuses it by size.
            return True
        with open(stamp_file) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and 'files' in meta


def site_dirs(sage_local):
    """The tree's site-packages directories: their distributions are owners."""
    return sorted(d for d in glob.glob(pth.join(sage_local, 'lib', 'python3*', 'site-packages'))
                  if pth.isdir(d) and not pth.islink(d))


def stagemerge_uninstall(exe, record, sage_local, verbose=False):
    """`stagemerge uninstall` of `record`; its exit status."""
    spkg_inst = pth.join(sage_local, 'var', 'lib', 'sage', 'installed')
    cmd = [exe, 'uninstall', '--manifest', record, '--manifest-dir', spkg_inst]
    for site in site_dirs(sage_local):
        cmd += ['--pip-site', site]
    if not verbose:
        cmd.append('--quiet')
    cmd.append(sage_local)
    return subprocess.call(cmd)


def uninstall(spkg_name, sage_local, keep_files=False,
              verbose=False, log_directory=None):
    """Upstream's uninstall(), with the files removed by stagemerge."""
    exe = stagemerge()
    spkg_inst = pth.join(sage_local, 'var', 'lib', 'sage', 'installed')
    stamp_files = sorted(glob.glob(pth.join(spkg_inst, '{0}-*'.format(spkg_name))),
                         key=pth.getmtime)
    if exe is None or keep_files or not stamp_files \
            or not has_files_list(stamp_files[-1]):
        # No stagemerge, or nothing it reads: upstream's own steps (the
        # legacy uninstaller, or removing the records only).
        pending_uninstall(exe, spkg_name, sage_local, verbose)
        return upstream.uninstall(spkg_name, sage_local, keep_files=keep_files,
                                  verbose=verbose, log_directory=log_directory)
    stamp_file = stamp_files[-1]

    spkg_scripts = pth.join(sage_local, 'var', 'lib', 'sage', 'scripts')
    spkg_scripts = os.environ.get('SAGE_SPKG_SCRIPTS', spkg_scripts)
    spkg_scripts = pth.join(spkg_scripts, spkg_name)

    if verbose:
        print("Uninstalling existing '{0}'".format(spkg_name))

    # As upstream: a failing spkg-prerm stops the uninstall.
    try:
        upstream.run_spkg_script(spkg_name, spkg_scripts, 'prerm',
                                 log_directory=log_directory)
    except Exception as exc:
        print("Error: The pre-uninstall script for '{0}' failed; the package "
              "will not be uninstalled.  Check further up in this log, or the "
              "script itself at {1}.".format(
                  spkg_name, pth.join(spkg_scripts, 'spkg-prerm')), file=sys.stderr)
        sys.exit(exc.returncode if isinstance(exc, subprocess.CalledProcessError) else 1)

    # As upstream: pip's part first (sage-pip-uninstall, which with stagemerge
    # keeps what another package lists, this one's record included: those
    # files go in the next step).
    try:
        upstream.run_spkg_script(spkg_name, spkg_scripts, 'piprm',
                                 log_directory=log_directory)
    except Exception:
        print("Warning: Error running the pip-uninstall script for "
              "'{0}'; uninstallation may have left behind some files".format(
                  spkg_name), file=sys.stderr)

    pending_uninstall(exe, spkg_name, sage_local, verbose)
    status = stagemerge_uninstall(exe, stamp_file, sage_local, verbose)
    if status != 0:
        # stagemerge said what it kept and why; its record stays, so that
        # the uninstall can be run again once that is fixed.
        print("Error: stagemerge could not uninstall all of '{0}' (status {1}); "
              "its record {2} is kept".format(spkg_name, status, stamp_file),
              file=sys.stderr)
        sys.exit(status)

    try:
        upstream.run_spkg_script(spkg_name, spkg_scripts, 'postrm',
                                 log_directory=log_directory)
    except Exception:
        print("Warning: Error running the post-uninstall script for "
              "'{0}'; the package will still be uninstalled, but "
              "may have left behind some files or settings".format(
                  spkg_name), file=sys.stderr)
    shutil.rmtree(spkg_scripts, ignore_errors=True)

    # Older records of the package, as upstream removes them.
    upstream.remove_stamp_files([s for s in stamp_files if pth.lexists(s)],
                                verbose=verbose)


def pending_uninstall(exe, spkg_name, sage_local, verbose):
    """Uninstalls what an install of `spkg_name` moved without finishing."""
    if exe is None:
        return
    spkg_inst = pth.join(sage_local, 'var', 'lib', 'sage', 'installed')
    for pending in glob.glob(pth.join(spkg_inst, '.{0}-*.stagemerge-pending'.format(spkg_name))):
        if pth.lexists(pending + '.stagemerge-journal'):
            print("Note: the install of '{0}' recorded in {1} was interrupted; "
                  "installing the package again finishes it".format(spkg_name, pending),
                  file=sys.stderr)
            continue
        stagemerge_uninstall(exe, pending, sage_local, verbose)


def run(argv=None):
    """Upstream's command line, with this module's uninstall()."""
    parser = upstream.make_parser()
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    if args.sage_local is None:
        print('Error: An installation tree must be specified either at the command '
              'line or in the $SAGE_LOCAL environment variable', file=sys.stderr)
        sys.exit(1)
    try:
        uninstall(args.spkg, args.sage_local, keep_files=args.keep_files,
                  verbose=args.verbose, log_directory=args.log_directory)
    except Exception as exc:
        print("Error during uninstallation of '{0}': {1}".format(args.spkg, exc),
              file=sys.stderr)
        if args.debug:
            raise
        sys.exit(1)

