//! Building an environment's folders: its task root and `/opt` as hard-linked trees of the
//! unpacked code and layers (a copy where linking is not possible).

use std::fs;
use std::io;
use std::path::Path;

/// Recreates the tree `src` under `dst` (which may exist): folders are created, files hard
/// linked (copied across file systems), symlinks recreated. A file that already exists in `dst`
/// is replaced, so merging layers in order lets later layers win, as on Lambda.
pub(crate) fn link_tree(src: &Path, dst: &Path) -> io::Result<()> {
    fs::create_dir_all(dst)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            link_tree(&from, &to)?;
        } else if kind.is_symlink() {
            let target = fs::read_link(&from)?;
            remove_existing(&to)?;
            std::os::unix::fs::symlink(target, &to)?;
        } else {
            remove_existing(&to)?;
            if fs::hard_link(&from, &to).is_err() {
                fs::copy(&from, &to)?;
            }
        }
    }
    Ok(())
}

fn remove_existing(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes `contents` to `path` atomically (temp file + rename), so concurrent managers and
/// running environments never see a half-written bootstrap.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    if fs::read(path).is_ok_and(|existing| existing == contents) {
        return Ok(());
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, contents)?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_trees_win() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b, out) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("out"));
        fs::create_dir_all(a.join("python")).expect("mkdir");
        fs::create_dir_all(b.join("python")).expect("mkdir");
        fs::write(a.join("python/x.py"), "a").expect("write");
        fs::write(a.join("python/only_a.py"), "a").expect("write");
        fs::write(b.join("python/x.py"), "b").expect("write");
        std::os::unix::fs::symlink("x.py", b.join("python/link.py")).expect("symlink");
        link_tree(&a, &out).expect("a");
        link_tree(&b, &out).expect("b");
        assert_eq!(fs::read_to_string(out.join("python/x.py")).expect("x"), "b");
        assert_eq!(fs::read_to_string(out.join("python/only_a.py")).expect("only_a"), "a");
        assert_eq!(fs::read_to_string(out.join("python/link.py")).expect("link"), "b");
    }
}
