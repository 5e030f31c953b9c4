/*
 * The per-step timer of the migration engine, on PostgreSQL's timeout API
 * (utils/timeout.h, which pgrx does not bind). It is a timeout of its own
 * (RegisterTimeout(USER_TIMEOUT, ...)), so arming it never touches the session's
 * statement_timeout, and the engine can tell its own cancel from anyone else's.
 */
#include "postgres.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/timeout.h"

static TimeoutId step_timeout_id = MAX_TIMEOUTS;
static volatile sig_atomic_t step_timeout_fired = false;

static void
step_timeout_handler(void)
{
	step_timeout_fired = true;
	/* What PostgreSQL's own statement timeout does: a query cancel. */
	QueryCancelPending = true;
	InterruptPending = true;
	SetLatch(MyLatch);
}

void
pgm_step_timer_arm(int ms)
{
	if (step_timeout_id == MAX_TIMEOUTS)
		step_timeout_id = RegisterTimeout(USER_TIMEOUT, step_timeout_handler);
	step_timeout_fired = false;
	enable_timeout_after(step_timeout_id, ms);
}

void
pgm_step_timer_disarm(void)
{
	if (step_timeout_id != MAX_TIMEOUTS)
		disable_timeout(step_timeout_id, false);
}

/* Did the step timer fire since it was last armed? Clears the answer. */
bool
pgm_step_timer_fired(void)
{
	bool		fired = step_timeout_fired;

	step_timeout_fired = false;
	return fired;
}
