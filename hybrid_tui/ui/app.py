"""The full-screen app: a thin view over the shared router service and the chats as data.

Layout: header; the "nothing is up" banner; the conversation (a view of the current chat,
:class:`~hybrid_tui.session.Session`) with the prompt and the backend control under it; the
health sidebar on the right; the routing log across the bottom; the footer. Prompt running
lives in :mod:`hybrid_tui.ui.runner`; keys, palette entries and help come from
:mod:`hybrid_tui.keymap`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.geometry import Size
from textual.theme import Theme
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState

from hybrid_tui import locations
from hybrid_tui.attachments import (
    AttachmentError,
    complete_path,
    parse_prompt,
    read_attachments,
)
from hybrid_tui.chats import open_chat
from hybrid_tui.config import Config
from hybrid_tui.errors import HybridError
from hybrid_tui.generation import ChatSettings
from hybrid_tui.keymap import ACTIONS
from hybrid_tui.session import Session, Turn
from hybrid_tui.ui import gcpause, prefs
from hybrid_tui.ui.actions import SessionActions
from hybrid_tui.ui.commands import HybridCommands
from hybrid_tui.ui.gcpause import GCPause
from hybrid_tui.ui.guard import guarded, log_to_file, report
from hybrid_tui.ui.persist import FLUSH_EVERY, SessionWriter
from hybrid_tui.ui.runner import TurnRunner
from hybrid_tui.ui.screens.decision import DecisionScreen
from hybrid_tui.ui.screens.help import HelpScreen
from hybrid_tui.ui.themes import DEFAULT_THEME, load_themes
from hybrid_tui.ui.warmup import StylePreload, compile_lexers
from hybrid_tui.ui.widgets.banner import DownBanner
from hybrid_tui.ui.widgets.conversation import Conversation
from hybrid_tui.ui.widgets.health import HealthSidebar
from hybrid_tui.ui.widgets.prompt import RATE_KEYS, ForceToggle, PromptInput
from hybrid_tui.ui.widgets.reply_body import ReplyBody
from hybrid_tui.ui.widgets.routing_log import RoutingLog
from hybrid_tui.ui.widgets.turn import Figures, TurnView, same_figures

log = logging.getLogger(__name__)

_OWN = object()  # "open the default store yourself"
#: the action names of the action table (``cycle_force``, ``rate`` ...)
_MAIN_SCREEN_ACTIONS = frozenset(a.action.split("(")[0] for a in ACTIONS)
#: below this many columns the health sidebar is a strip, a line per backend
NARROW_COLUMNS = 110
#: below this many rows the routing log is a one-line ticker
SHORT_ROWS = 30
IDLE_HINT = Content.styled(
    "Enter send · ctrl+j new line · ↑↓ earlier prompts · esc stop · ctrl+p commands",
    "$text-muted",
)


class Service(Protocol):
    """What the app needs of the router service (:class:`RouterService` is one)."""

    config: Config
    health: Any

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    def submit(self, prompt: str, context: Any = (), history: Any = (),
               force: str | None = None, *, settings: ChatSettings | None = None) -> Any: ...

    def rate(self, positive: bool, reply_id: int | None = None) -> str: ...


def default_service(config: Config, store: Any) -> Any:
    """A :class:`RouterService` sharing the app's store (one SQLite connection)."""
    from hybrid_tui.router.service import RouterService

    return RouterService(config, store=store)


class HybridApp(SessionActions, App[int]):
    """The TUI. It builds, starts and closes its router service (``service_factory``) and
    store, unless given a running ``service`` or a ``store`` (None: do not save).

    ``clock`` gives every displayed wall time and age, ``figures`` filters every displayed
    timing figure: tests replace both to make snapshots deterministic.
    """

    CSS_PATH = "app.tcss"
    TITLE = "hybrid-tui"
    COMMANDS = App.COMMANDS | {HybridCommands}
    #: from the one action table; ``ui.keys`` rebinds them by name (``set_keymap``)
    BINDINGS = [
        Binding(a.key, a.action, a.footer or a.title, show=bool(a.footer),
                priority=a.priority, id=a.name,
                key_display={"plus": "+", "minus": "-"}.get(a.key))
        for a in ACTIONS
    ]

    banner: DownBanner
    conversation: Conversation
    prompt_input: PromptInput
    force_toggle: ForceToggle
    hint: Static
    sidebar: HealthSidebar
    routing_log: RoutingLog

    def __init__(
        self,
        config: Config,
        *,
        service: Any | None = None,
        service_factory: Callable[[Config, Any], Any] | None = None,
        store: Any = _OWN,
        demo: bool = False,
        resume: bool = False,
        session_name: str | None = None,
        cwd: Path | None = None,
        clock: Callable[[], float] = time.time,
        figures: Figures = same_figures,
        freeze_startup: bool = False,
    ) -> None:
        """``freeze_startup``: once the first screen is up, exempt everything alive from
        later garbage collections (:func:`gcpause.freeze_startup`); for the process that
        runs the app for a user, not for tests that run many apps in one process."""
        super().__init__()
        self.config = config
        self.service: Service | None = service
        self._service_factory = service_factory or default_service
        self._owns_service = service is None
        self._store_arg = store
        self.store: Any | None = None
        self.demo = demo
        self.resume = resume
        self.session_name = session_name
        #: where ``@path`` files are found and completed
        self.cwd = cwd or Path.cwd()
        self.clock = clock
        self.figures = figures
        self.runner = TurnRunner(self)
        self.gc_pause = GCPause(lambda delay, callback: self.set_timer(delay, callback),
                                freeze=freeze_startup)
        self._freeze_startup = freeze_startup
        self.writer = SessionWriter(None)
        #: the chat on screen
        self.session = Session(name="chat")
        #: chats loaded this run, by store id (a prompt may still run in one not shown)
        self._open_chats: dict[int, Session] = {}
        self._seen_status: dict[str, str] = {}
        self._theme_names: list[str] = []
        self.ui_state = prefs.UIState()
        #: every notification shown, as "title: message" (the session's visible error log)
        self.notices: list[str] = []
        if demo:
            self.sub_title = "DEMO · simulated LM Studio + Ollama on loopback"
        if config.ui.keys:
            self.set_keymap(config.ui.keys)

    def notify(self, message: str, *, title: str = "", **kwargs: Any) -> None:  # type: ignore[override]
        """Show a notification and keep it in :attr:`notices`."""
        self.notices.append(f"{title}: {message}" if title else message)
        super().notify(message, title=title, **kwargs)

    # -- layout ----------------------------------------------------------------------------

    @property
    def backends(self) -> list[Any]:
        return self.config.enabled_backends()

    @property
    def force_choices(self) -> list[str]:
        return ["auto", *(b.name for b in self.backends)]

    def compose(self) -> ComposeResult:
        # Widgets are kept as attributes: app.query_one() searches only the active screen, and
        # tokens keep arriving while a modal (help, decision detail) is on top.
        backends = self.backends
        interval = self.config.health.interval
        self.banner = DownBanner(backends, interval, id="banner")
        self.conversation = Conversation(id="conversation", figures=self.figures)
        self.prompt_input = PromptInput(id="prompt")
        self.force_toggle = ForceToggle([b.name for b in backends], id="force")
        self.hint = Static(IDLE_HINT, id="hint")
        self.below = Static(Content.styled("▼ new text below · ctrl+end follows the reply",
                                           "bold $text-accent"), id="below")
        self.sidebar = HealthSidebar(
            [(b.name, b.endpoint, b.kind, b.tier) for b in backends],
            interval=interval, clock=self.clock, figures=self.figures,
            slots={b.name: b.max_concurrent for b in backends}, id="sidebar",
        )
        self.routing_log = RoutingLog(id="log")
        yield Header(icon="◆")
        yield self.banner
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield self.conversation
                yield self.below
                with Horizontal(id="composer"):
                    yield self.prompt_input
                    yield self.force_toggle
                yield self.hint
            yield self.sidebar
        yield self.routing_log
        yield Footer()
        yield StylePreload(ReplyBody())  # its CSS parsed now, not with the first reply

    # -- start and stop --------------------------------------------------------------------

    @guarded
    async def on_mount(self) -> None:
        self.fit_terminal(self.size)
        self._setup_themes()
        self._open_store()
        self.prompt_input.completer = lambda partial: complete_path(partial, cwd=self.cwd)
        if self.service is None:
            self.service = self._make_service()
        if self.service is not None:
            for state in self.service.health.states().values():
                self.on_health(state)
            self.service.health.add_listener(self.on_health)
            if self._owns_service:
                self.run_worker(self._start_service(), name="service", group="service",
                                exit_on_error=False)
        self.set_interval(1.0, self._tick, name="health-clock")
        self.set_interval(FLUSH_EVERY, self.flush_transcript, name="transcript")
        self.set_interval(0.25, self.update_follow, name="follow")
        self.below.display = False
        await self.show_chat(self.session, opened=True)
        self.prompt_input.focus()
        if self._freeze_startup:
            self.call_after_refresh(gcpause.freeze_startup)
        self.call_after_refresh(self._warm_up)

    def _warm_up(self) -> None:
        """With the first screen up: compile the common code highlighters in a thread, so
        the first reply with code does not wait for that (:mod:`hybrid_tui.ui.warmup`)."""
        self.run_worker(compile_lexers, name="warm-up", group="warm-up", thread=True,
                        exit_on_error=False)

    def _make_service(self) -> Any | None:
        try:
            return self._service_factory(self.config, self.store)
        except Exception as exc:
            self.notify(f"The router could not start: {exc}", severity="error", markup=False,
                        timeout=30)
            return None

    async def _start_service(self) -> None:
        try:
            await self.service.start()
        except Exception as exc:
            log.exception("router start failed")
            self.notify(f"The router could not start: {exc}", severity="error", markup=False)

    def _open_store(self) -> None:
        store = self._store_arg
        if store is _OWN:
            try:
                from hybrid_tui.store import Store

                path = locations.data_dir() / "demo.sqlite3" if self.demo else None
                store = Store(path, notice=self._store_notice(asyncio.get_running_loop()))
            except Exception as exc:
                self.notify(f"Chats are not saved: {exc}", severity="warning", markup=False)
                store = None
        self.store = store
        self.writer = SessionWriter(store, self._saving_report, self._saving_notice)
        if store is None:
            return
        try:
            self.session = open_chat(store, name=self.session_name, resume=self.resume)
        except Exception as exc:  # sqlite3 and OS errors alike: report, keep going unsaved
            self.notify(f"Chats are not saved: {exc}", severity="warning", markup=False)
            self.writer = SessionWriter(None)
        default = self.config.routing.default_provider
        if default != "auto" and self.session.pin is None and not self.session.turns:
            self.session.pin = default

    def _store_notice(self, loop: asyncio.AbstractEventLoop) -> Callable[[str], None]:
        """What the store says a user should know (a file moved aside, a wait for a lock),
        shown from whichever thread the store call ran on."""

        def notice(message: str) -> None:
            log.warning("%s", message)
            loop.call_soon_threadsafe(functools.partial(
                self.notify, message, title="Chat store", severity="warning", markup=False,
                timeout=20))  # fmt: skip

        return notice

    def show_title(self) -> None:
        """The window title names the chat on screen."""
        name = self.session.name
        self.title = f"hybrid-tui · {name}" if name else "hybrid-tui"

    def _saving_notice(self, message: str) -> None:
        """A chat went missing from the store and was saved again (it may have a new id)."""
        self._open_chats = {s.id or id(s): s for s in self._open_chats.values()}
        self.show_title()  # it may have been saved under a new name
        self.notify(message, title="Saving", severity="warning", markup=False, timeout=20)

    def _saving_report(self, problem: str | None) -> None:
        """Saving fell behind (kept and retried) or caught up again."""
        if problem is not None:
            self.notify(problem, title="Saving", severity="warning", markup=False, timeout=15)
        else:
            self.notify("Saving works again; every turn is saved.", title="Saving",
                        markup=False)
        self.update_hint()

    async def show_chat(self, session: Session, *, opened: bool = False) -> None:
        """Put ``session`` on screen (its newest turns), with its backend choice."""
        self.session = session
        if session.id is not None:
            self._open_chats[session.id] = session
        await self.conversation.show_session(session)
        self.prompt_input.can_rate = self.last_finished_reply() is not None
        self.prompt_input.sent = [t.prompt for t in session.turns][-200:]
        self.show_force()
        self.show_title()
        if opened and (self.resume or self.session_name):
            count = len(session.turns)
            if count:
                self.notify(f"Opened chat {session.name!r}: {count} turn"
                            f"{'s' if count != 1 else ''}.", markup=False)
            elif self.resume:
                self.notify("No earlier chat to resume; starting a new one.", markup=False)

    async def on_unmount(self) -> None:
        if self.service is not None:
            self.service.health.remove_listener(self.on_health)
        self.runner.drop_queue()
        problem = self.writer.flush_now()
        if problem:
            log.warning(problem)
        if self.service is not None and self._owns_service:
            try:
                await self.service.aclose()
            except Exception:
                log.exception("closing the router failed")
        if self._store_arg is _OWN and self.store is not None:
            self.store.close()

    def on_resize(self, event: events.Resize) -> None:
        self.fit_terminal(event.size)

    def fit_terminal(self, size: Size) -> None:
        """Leave the conversation room in a small terminal: below :data:`NARROW_COLUMNS`
        the sidebar is a strip (a line per backend), below :data:`SHORT_ROWS` the routing
        log is a one-line ticker of the newest event. The main screen gets the classes
        ``-narrow`` and ``-short`` for the rest of the layout (app.tcss)."""
        narrow, short = size.width < NARROW_COLUMNS, size.height < SHORT_ROWS
        self.sidebar.compact = narrow
        self.routing_log.ticker = short
        main = self.screen_stack[0]
        main.set_class(narrow, "-narrow")
        main.set_class(short, "-short")

    @guarded
    def _tick(self) -> None:
        """Once a second: the sidebar's ages and countdowns, from the monitor's current
        states (queue lengths and cooldowns change without a probe)."""
        states = self.service.health.states() if self.service is not None else {}
        self.sidebar.tick(states)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that failed (every worker runs with ``exit_on_error=False``): say so."""
        worker = event.worker
        if event.state == WorkerState.ERROR and worker.error is not None:
            report(self, worker.name or "a background task", worker.error)

    # -- themes ----------------------------------------------------------------------------

    def _setup_themes(self) -> None:
        themes = load_themes()
        for theme in themes.themes.values():
            self.register_theme(theme)
        self._theme_names = list(themes.themes)
        for problem in themes.problems:
            self.notify(f"Skipped theme file {problem}", title="Theme", severity="warning",
                        markup=False, timeout=15)
        self.ui_state = prefs.load_state()
        wanted = self.ui_state.theme_for(self.config.ui.theme)
        if wanted not in self.available_themes:
            self.notify(f"Theme {wanted!r} not found; using {DEFAULT_THEME}.", title="Theme",
                        severity="warning", markup=False)
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        self.theme = wanted
        self.theme_changed_signal.subscribe(self, self._theme_changed)

    @property
    def theme_names(self) -> list[str]:
        """Our YAML themes first, then Textual's own."""
        rest = [name for name in self.available_themes if name not in self._theme_names]
        return [*self._theme_names, *sorted(rest)]

    @guarded
    def choose_theme(self, name: str) -> None:
        self.theme = name

    def _theme_changed(self, theme: Theme) -> None:
        self.routing_log.restyle()
        self.conversation.restyle()
        if theme.name == self.ui_state.theme:
            return
        self.ui_state = prefs.UIState(theme=theme.name, config_theme=self.config.ui.theme)
        try:
            prefs.save_state(self.ui_state)
        except OSError as exc:
            self.notify(f"Could not remember the theme: {exc}", severity="warning",
                        markup=False)

    # -- health ----------------------------------------------------------------------------

    def on_health(self, state: Any) -> None:
        """Health monitor listener (same loop): update the card, banner and notices."""
        if not self.sidebar.is_attached:  # shutting down
            return
        try:
            self.sidebar.update_state(state)
            before = self._seen_status.get(state.name)
            self._seen_status[state.name] = state.status
            if before in ("up", "degraded") and state.status == "down":
                self.notify(f"{state.name} is down: {state.last_error or 'no answer'}",
                            severity="warning", markup=False)
            elif before == "down" and state.status in ("up", "degraded"):
                self.notify(f"{state.name} is back up.", markup=False)
            names = [b.name for b in self.backends]
            all_down = bool(names) and all(self._seen_status.get(n) == "down" for n in names)
            self.banner.show_down(all_down)
        except Exception:  # never let a view problem break the monitor
            log.exception("health update failed")

    # -- prompts ---------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        """Typing while the conversation, the log or the sidebar has focus goes to the
        prompt (``+`` / ``-`` excepted: they rate). Never on a modal screen."""
        if (
            event.is_printable
            and event.character is not None
            and event.character not in RATE_KEYS
            and self.screen is self.screen_stack[0]
            and self.focused is not self.prompt_input
        ):
            self.prompt_input.focus()
            self.prompt_input.insert(event.character)
            event.stop()

    @on(PromptInput.Completions)
    def _completions(self, event: PromptInput.Completions) -> None:
        options = event.options
        if not options:
            self.update_hint(Content.styled(f"No file starts with {event.word!r} here.",
                                            "$text-warning"))
        elif len(options) > 1:
            shown = "  ".join(options[:12]) + ("  …" if len(options) > 12 else "")
            self.update_hint(Content.assemble((f"{len(options)} match: ", "$text-muted"),
                                              shown))
        else:
            self.update_hint(Content.styled(f"@{options[0]}", "$text-accent"))

    @on(PromptInput.Submitted)
    @guarded
    async def _submitted(self, event: PromptInput.Submitted) -> None:
        if not event.text.strip():
            self.update_hint(Content.styled("Type a prompt first — nothing was sent.",
                                            "$text-warning"))
            return
        try:
            await self.send(event.text)
        except HybridError as exc:  # a bad @file or @backend: the prompt stays as typed
            self.update_hint(Content.styled(str(exc), "$text-error"))
            self.notify(str(exc), title="Not sent", severity="error", markup=False)
            return
        self.prompt_input.remember(event.text)
        self.prompt_input.clear()

    async def send(self, text: str, force: str | None = None) -> TurnView:
        """Queue ``text`` in the current chat and show it. A leading ``@backend`` forces
        this prompt, ``@path`` attaches files; ``force`` (tests, scripts) forces it too,
        else the chat's one-prompt choice or pin applies. Raises :class:`HybridError` for a
        file that cannot be attached or a prompt left empty (nothing is sent then). Returns
        the turn's view (its model is ``view.turn``)."""
        parsed = parse_prompt(text, [b.name for b in self.backends], cwd=self.cwd)
        if not parsed.text.strip():
            raise AttachmentError("the prompt is empty after the @-words; nothing was sent")
        attachments = read_attachments(parsed.paths, cwd=self.cwd)
        source = "prefix" if parsed.force else ("cli" if force else None)
        session = self.session
        turn = session.new_turn(
            parsed.text,
            stamp=time.strftime("%H:%M:%S", time.localtime(self.clock())),
            force=parsed.force or force,
            force_source=source,
            attachments=attachments,
        )
        view = await self.conversation.add_turn(turn)
        self.show_force()
        self.persist(session, turn)
        self.runner.enqueue(session, turn)
        await self.flush_transcript()  # the prompt is on disk before any reply arrives
        return view

    def persist(self, session: Session, turn: Turn) -> None:
        self.writer.mark(session, turn)

    async def flush_transcript(self) -> None:
        await self.writer.flush()

    def turn_ended(self, session: Session, turn: Turn) -> None:
        """A prompt finished (however it ended)."""
        if session is self.session:
            self.prompt_input.can_rate = self.last_finished_reply() is not None

    def show_force(self) -> None:
        """The prompt bar says what the next prompt goes to, and for how long."""
        force, source = self.session.in_force
        self.force_toggle.show(force, source)

    def update_hint(self, message: Content | None = None) -> None:
        """The line under the prompt: a transient message, or what is running/queued."""
        if message is None:
            running, queued = self.runner.running, len(self.runner.queue)
            if running is None:
                message = IDLE_HINT
                if self.writer.failed:
                    message = Content.styled(f"⚠ {self.writer.failed}", "$text-warning")
            else:
                parts: list[str | tuple[str, str]] = [
                    ("● ", "$text-accent"), f"answering prompt {running.turn.number}"]
                if running.session is not self.session:
                    parts.append((f" of {running.session.name}", "$text-muted"))
                reply = running.turn.current
                if reply is not None and reply.wait is not None:
                    parts += [" · ", (f"{reply.backend}: {reply.wait.state}…", "$text-warning")]
                if queued:
                    parts.append((f" · {queued} queued", "$text-warning"))
                parts.append(("  ·  esc stops it", "$text-muted"))
                message = Content.assemble(*parts)
        self.hint.update(message, layout=False)  # always one line high

    @property
    def idle(self) -> bool:
        """No prompt running or queued (tests wait for this)."""
        return not self.runner.busy

    # -- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The action table's keys belong to the main screen: on a dialog (chats list, help,
        decision detail) they fall through to the dialog's own keys."""
        return action not in _MAIN_SCREEN_ACTIONS or self.screen is self.screen_stack[0]

    @guarded
    def action_cancel(self) -> None:
        if not self.runner.cancel():
            self.update_hint(Content.styled("Nothing is running.", "$text-muted"))

    @guarded
    def action_cycle_force(self) -> None:
        """The backend for the next prompt only: Auto → each backend → each tier."""
        session = self.session
        current = session.next_force or "auto"
        choices = self.force_choices
        index = choices.index(current) if current in choices else 0
        choice = choices[(index + 1) % len(choices)]
        session.next_force = None if choice == "auto" else choice
        self.show_force()
        if session.next_force is None:
            pinned = f" (pinned: {session.pin})" if session.pin else ""
            self.update_hint(Content.assemble("The next prompt is routed", pinned))
        else:
            self.update_hint(Content.assemble("The next prompt goes to ",
                                              (session.next_force, "bold"),
                                              " (F4 pins it for later prompts)"))

    @guarded
    def action_pin_force(self) -> None:
        """Keep the chosen backend for every later prompt; again: unpin."""
        session = self.session
        if session.next_force is not None:
            session.pin, session.next_force = session.next_force, None
        elif session.pin is not None:
            session.pin = None
        else:
            self.update_hint(Content.styled("Choose a backend with ctrl+b first, then pin it.",
                                            "$text-muted"))
            return
        self.save_chat_settings()
        self.show_force()
        self.update_hint(Content.assemble("Every prompt goes to ", (session.pin, "bold"),
                                          " until unpinned") if session.pin
                         else "Unpinned: prompts are routed again")

    @guarded
    def set_force(self, value: str, *, pin: bool = False) -> None:
        """The palette's "Force backend" entries: ``value`` for the next prompt, or pinned."""
        choice = None if value == "auto" else value
        if pin or choice is None:
            self.session.pin = choice
            self.session.next_force = None
            self.save_chat_settings()
        else:
            self.session.next_force = choice
        self.show_force()

    def save_chat_settings(self) -> None:
        from hybrid_tui.chats import session_settings

        if self.store is None or self.session.id is None or self.writer.store is None:
            return
        try:
            self.store.update_session(self.session.id, settings=session_settings(self.session))
        except Exception as exc:
            self.notify(f"Chat settings not saved: {exc}", severity="warning", markup=False)

    @guarded
    def action_scroll_conversation(self, where: str) -> None:
        """Read back while a reply streams: scrolling up stops following it; the bottom
        (ctrl+end, or scrolling there) follows it again."""
        conversation = self.conversation
        if where == "page_up":
            conversation.release_anchor()
            conversation.scroll_page_up(animate=False)
        elif where == "page_down":
            conversation.scroll_page_down(animate=False)
        elif where == "home":
            conversation.release_anchor()
            conversation.scroll_home(animate=False)
        else:
            conversation.anchor()
        self.call_after_refresh(self.update_follow)

    def update_follow(self) -> None:
        """The "new text below" marker: shown while a reply streams out of sight."""
        streaming = self.runner.running is not None and \
            self.runner.running.session is self.session
        self.below.display = streaming and self.conversation.reading_back

    @guarded
    async def action_refresh_health(self) -> None:
        if self.service is None:
            return
        self.notify("Checking every backend…", timeout=2)
        self.run_worker(self.service.health.refresh(), group="health", exit_on_error=False)

    @guarded
    def action_toggle_log(self) -> None:
        self.routing_log.display = not self.routing_log.display

    @guarded
    def action_toggle_sidebar(self) -> None:
        self.sidebar.display = not self.sidebar.display

    @guarded
    def action_show_backends(self) -> None:
        """The full backend cards: in a narrow terminal they stand in for the strip until
        asked again; otherwise the sidebar comes back if it was hidden."""
        self.sidebar.display = True
        if self.sidebar.compact:
            self.sidebar.expanded = not self.sidebar.expanded

    @guarded
    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.config.ui.keys))

    @on(DataTable.RowSelected, "#log")
    @guarded
    def _log_row_selected(self, event: DataTable.RowSelected) -> None:
        entry = self.routing_log.entry_for(event.row_key.value)
        if entry is not None:
            self.push_screen(DecisionScreen(entry))

    @on(PromptInput.Rate)
    async def _rate_key(self, event: PromptInput.Rate) -> None:
        await self.action_rate(event.positive)


def run_app(config: Config, *, demo: bool = False, resume: bool = False,
            session: str | None = None) -> int:
    """Run the TUI until the user quits; returns the process exit code.

    ``demo`` starts the built-in simulators first and points the app at them; ``resume``
    reopens the last chat, ``session`` the chat of that name (made when there is none)."""
    sims = None
    if demo:
        from hybrid_tui.ui.demo import start_demo

        sims, config = start_demo(config)
    log_to_file()
    try:
        app = HybridApp(config, demo=demo, resume=resume, session_name=session,
                        freeze_startup=True)
        result = app.run()
        return result if isinstance(result, int) else (app.return_code or 0)
    finally:
        if sims is not None:
            sims.stop()
