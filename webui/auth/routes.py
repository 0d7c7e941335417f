import re
from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, url_for

from webui.auth import bp
from webui.auth.forms import LoginForm, SignupForm
from webui.errors import ServiceError
from webui.forms import EmptyForm
from webui.security.permissions import allow_pending, public
from webui.security.ratelimit import TooManyAttempts
from webui.services import users
from webui.signin import sign_in, sign_out

# Browsers drop or rewrite these inside URLs ('/\\evil' and '/\t/evil' both lead to another
# site), and CR/LF would end the Location header.
NOT_IN_NEXT = re.compile(r"[\\\s\x00-\x1f\x7f]")


def landing_page() -> str:
    """Where people start once signed in, admins too: the chat, as in Open WebUI."""
    return url_for("chat.index")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site ('/x', '/x?y=1'), or the chat.
    Refused: '//evil', 'https://evil', '/\\evil', and any backslash, space or control character."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or NOT_IN_NEXT.search(target)
    ):
        return landing_page()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return landing_page()
    return target


@bp.route("/signup", methods=["GET", "POST"])
@public
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        try:
            signed_up = users.sign_up(form.name.data, form.email.data, form.password.data)
        except ServiceError as error:
            flash(error.detail, "error")
        else:
            user = signed_up.account
            if user is None:  # waits for approval, or the address had an account: not said
                flash(users.SIGNUP_RECEIVED, "info")
                return redirect(url_for("auth.login"))
            sign_in(user)
            flash(f"Welcome, {user.name}. Your role is {user.role}.", "success")
            return redirect(safe_next(request.args.get("next")))
    return render_template("auth/signup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = users.authenticate(form.email.data, form.password.data)
        except TooManyAttempts as error:
            flash(error.detail, "error")
            return render_template("auth/login.html", form=form), 429, error.headers
        except users.ServiceAccountSignIn as error:
            flash(error.detail, "error")
            return render_template("auth/login.html", form=form), 403
        if user is None:
            flash("Wrong email or password.", "error")
        else:
            sign_in(user)
            return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    if EmptyForm().validate_on_submit():
        sign_out()
        flash("You have been signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/pending")
@allow_pending
def pending():
    if not g.principal.is_pending:  # approved meanwhile ("Check again")
        return redirect(landing_page())
    return render_template("auth/pending.html", form=EmptyForm())
