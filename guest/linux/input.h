/* Console input: each line read from fd 0 is printed back as "ECHO <line>". */
#ifndef HBINIT_INPUT_H
#define HBINIT_INPUT_H

/* The fd to poll for input: 0, or -1 once fd 0 has ended (poll then ignores it). */
int input_fd(void);
/* Called when poll says fd 0 is readable: one read(), never blocks for long. */
void input_ready(void);
/* As PID 1, fd 0 is the console's tty: its echo would break up our lines. */
void input_quiet_tty(void);

#endif
