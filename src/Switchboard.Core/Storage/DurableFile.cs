using System.Runtime.InteropServices;

namespace Switchboard.Storage;

/// <summary>
/// Files outside the database that must survive a power loss once written: the key-encryption key, the audit archive,
/// the exported checkpoints and their key set. Flushing a file's bytes is not enough for a file just created or renamed:
/// its name lives in the directory, which POSIX file systems (XFS, btrfs, ext4 without its rename heuristics) may lose
/// unless the directory itself is fsynced. .NET has no API for that (it refuses to open a directory as a file), so this
/// calls <c>open</c>/<c>fsync</c>/<c>close</c> from libc.
/// </summary>
internal static partial class DurableFile
{
    private const int ReadOnly = 0;
    private const int InvalidArgument = 22;

    /// <summary>Writes <paramref name="bytes"/> to a new file next to <paramref name="path"/>, fsyncs it, renames it over
    /// <paramref name="path"/> and fsyncs the directory: a reader sees the old content or the new, never a torn file.</summary>
    public static void Replace(string path, ReadOnlySpan<byte> bytes)
    {
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Makes the names in <paramref name="directory"/> (files created, renamed or deleted in it) durable.</summary>
    /// <exception cref="IOException">The directory could not be opened or flushed.</exception>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            // NTFS journals its metadata, and Windows cannot open a directory for flushing this way.
            return;
        }

        var descriptor = Open(directory, ReadOnly);
        if (descriptor < 0)
        {
            throw new IOException($"Could not open the folder {directory} to flush it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            // Some file systems (network or FUSE mounts) do not flush directories and answer EINVAL: nothing to wait for.
            if (FSync(descriptor) != 0 && Marshal.GetLastPInvokeError() is var error && error != InvalidArgument)
            {
                throw new IOException($"Could not flush the folder {directory} (errno {error}).");
            }
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    // "libc" is mapped by the runtime to the C library's real file name (libc.so.6 on glibc), also under Native AOT.
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
