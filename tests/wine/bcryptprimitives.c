/*
 * bcryptprimitives.dll for Wine 8, which lacks it: Rust's standard library
 * on Windows (1.78 and later) takes its random numbers from ProcessPrng in
 * this DLL, and a program that cannot import it does not start (Wine exit
 * status 53). Windows 10 and later ship the real DLL; this stand-in is only
 * for the Wine prefix the tests use (tests/wine.sh builds and installs it).
 *
 * ProcessPrng fills the buffer from RtlGenRandom (advapi32's
 * SystemFunction036), which Wine implements; like the original it cannot
 * fail, so a failure of the source stops the process.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            ExitProcess(3);
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
