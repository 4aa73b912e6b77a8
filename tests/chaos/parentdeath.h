#pragma once

#include <QProcess>

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>

// Makes a child process die with the test process, however that ends: a crash, an abort from
// a sanitizer, or CTest's SIGKILL at the timeout, when no destructor runs. Call before start().
// Linux sends the signal when the thread that started the child exits, so start children from
// the main thread.
inline void killWithParent(QProcess& process)
{
    const pid_t parent = ::getpid();
    process.setChildProcessModifier([parent] {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        // The parent may have died between fork() and prctl(): then nothing would signal us.
        if (::getppid() != parent) {
            ::_exit(1);
        }
    });
}
