using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Switchboard.Storage;

/// <summary>
/// Files outside the database that must survive a power loss once written: the key-encryption key, the audit archive,
/// the exported checkpoints and their key set. Two things .NET does not do for us here: it cannot flush a folder (it
/// refuses to open one as a file), and a file created or renamed is only durable once its folder is flushed too (XFS,
/// btrfs, ext4 without its rename heuristics); and <c>FileStream.Flush(true)</c> does not report a failed fsync (.NET
/// 10.0: an injected EIO passes silently), so a caller about to delete what the file holds could not tell. This calls
/// <c>fsync</c> from libc and checks its answer.
/// </summary>
internal static partial class DurableFile
{
    private const int Interrupted = 4;
    private const int ReadOnlyFileSystem = 30;
    private const int InvalidArgument = 22;
    private const int NotSupportedLinux = 95;
    private const int NotSupportedMac = 45;
    private const int FullFSyncCommand = 51;

    /// <summary>Writes <paramref name="bytes"/> to a new file next to <paramref name="path"/>, fsyncs it, renames it over
    /// <paramref name="path"/> and fsyncs the folder: a reader sees the old content or the new, never a torn file. The
    /// temporary name is this process's own, so replicas sharing the folder do not collide.</summary>
    /// <exception cref="IOException">The file could not be written or made durable.</exception>
    public static void Replace(string path, ReadOnlySpan<byte> bytes)
    {
        var temporary = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush();
                SyncFile(stream.SafeFileHandle, temporary);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            DeleteQuietly(temporary);
            throw;
        }

        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Flushes a file's written bytes to the disk (the stream's own buffer must be flushed first).</summary>
    /// <exception cref="IOException">The disk did not take them: whatever relies on the file must not go ahead.</exception>
    public static void SyncFile(SafeFileHandle file, string path)
    {
        if (OperatingSystem.IsWindows())
        {
            // FlushFileBuffers reports its failures there.
            RandomAccess.FlushToDisk(file);
            return;
        }

        int result;
        do
        {
            // On macOS fsync reaches the drive but not its cache; F_FULLFSYNC does (as .NET's Flush(true) does there).
            result = OperatingSystem.IsMacOS() ? FullFSync(file, FullFSyncCommand) : FSync(file);
            if (result != 0 && OperatingSystem.IsMacOS() && Unsupported(Marshal.GetLastPInvokeError()))
            {
                result = FSync(file);
            }
        }
        while (result != 0 && Marshal.GetLastPInvokeError() == Interrupted);

        if (result != 0 && Marshal.GetLastPInvokeError() is var error && !Unsupported(error))
        {
            throw new IOException($"Could not flush {path} to the disk: {Marshal.GetPInvokeErrorMessage(error)}.");
        }
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

        // Close-on-exec: a stdio upstream started at this moment must not inherit the descriptor.
        var closeOnExec = OperatingSystem.IsMacOS() ? 0x1000000 : 0x80000;
        int descriptor;
        do
        {
            descriptor = Open(directory, closeOnExec);
        }
        while (descriptor < 0 && Marshal.GetLastPInvokeError() == Interrupted);

        if (descriptor < 0)
        {
            throw new IOException($"Could not open the folder {directory} to flush it: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}.");
        }

        try
        {
            int result;
            do
            {
                result = FSync(descriptor);
            }
            while (result != 0 && Marshal.GetLastPInvokeError() == Interrupted);

            // Some file systems (network, FUSE or read-only mounts) do not flush folders: nothing to wait for.
            if (result != 0 && Marshal.GetLastPInvokeError() is var error && !Unsupported(error))
            {
                throw new IOException($"Could not flush the folder {directory}: {Marshal.GetPInvokeErrorMessage(error)}.");
            }
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The error that brought us here is the one to report.
        }
    }

    private static bool Unsupported(int error)
        => error is InvalidArgument or ReadOnlyFileSystem || error == (OperatingSystem.IsMacOS() ? NotSupportedMac : NotSupportedLinux);

    // "libc" is mapped by the runtime to the C library's real file name (libc.so.6 on glibc), also under Native AOT.
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int descriptor);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(SafeFileHandle file);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int FullFSync(SafeFileHandle file, int command);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
