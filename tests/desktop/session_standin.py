#!/usr/bin/env python3
"""A stand-in for the parts of a desktop session the desktop test needs beyond dunst, on a
private session bus (tests/desktop/e2e.py starts a dbus-daemon of its own for it):

- a notification server (org.freedesktop.Notifications) that advertises `inline-reply`, as KDE
  Plasma's does (dunst does not), records every notification with its actions and hints, and on
  the test's command emits `NotificationReplied` or `ActionInvoked` the way Plasma does;
- a StatusNotifierWatcher (org.kde.StatusNotifierWatcher): libayatana-appindicator exports the
  app's tray icon only when one runs, and this one remembers which item registered;
- a control object (org.linqinbox.Standin at /org/linqinbox/Standin) the test calls with
  dbus-send: `Notifications` and `Tray` answer JSON, `Reply` and `Invoke` emit the signals.

Reads the tray the way a panel does: the item's StatusNotifierItem properties and its
com.canonical.dbusmenu layout. Needs python3-dbus and python3-gi (mk/desktop.mk installs them).
"""

import json
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NOTIFICATIONS = "org.freedesktop.Notifications"
WATCHER = "org.kde.StatusNotifierWatcher"
CONTROL = "org.linqinbox.Standin"
ITEM = "org.kde.StatusNotifierItem"
MENU = "com.canonical.dbusmenu"
PROPS = "org.freedesktop.DBus.Properties"


def plain(value):
    """A D-Bus value as JSON can hold it."""
    if isinstance(value, (dbus.Array, list)):
        return [plain(v) for v in value]
    if isinstance(value, (dbus.Dictionary, dict)):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (dbus.Struct, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dbus.Boolean):
        return bool(value)
    if isinstance(value, (dbus.Byte, dbus.Int16, dbus.Int32, dbus.Int64, dbus.UInt16, dbus.UInt32, dbus.UInt64)):
        return int(value)
    if isinstance(value, dbus.Double):
        return float(value)
    return str(value)


class Notifications(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, "/org/freedesktop/Notifications")
        self.shown = []

    @dbus.service.method(NOTIFICATIONS, in_signature="", out_signature="as")
    def GetCapabilities(self):
        return ["actions", "body", "inline-reply"]

    @dbus.service.method(NOTIFICATIONS, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("linq-inbox-standin", "linq-inbox tests", "1", "1.2")

    @dbus.service.method(NOTIFICATIONS, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
        nid = len(self.shown) + 1
        pairs = [[str(actions[i]), str(actions[i + 1])] for i in range(0, len(actions) - 1, 2)]
        strings = {str(k): str(v) for k, v in hints.items() if isinstance(v, dbus.String)}
        self.shown.append({"id": nid, "app": str(app), "summary": str(summary), "body": str(body),
                           "actions": pairs, "hints": strings, "closed": False})
        return dbus.UInt32(nid)

    @dbus.service.method(NOTIFICATIONS, in_signature="u", out_signature="")
    def CloseNotification(self, nid):
        for n in self.shown:
            if n["id"] == nid and not n["closed"]:
                n["closed"] = True
                self.NotificationClosed(nid, 3)

    @dbus.service.signal(NOTIFICATIONS, signature="uu")
    def NotificationClosed(self, nid, reason):
        pass

    @dbus.service.signal(NOTIFICATIONS, signature="us")
    def ActionInvoked(self, nid, key):
        pass

    @dbus.service.signal(NOTIFICATIONS, signature="us")
    def NotificationReplied(self, nid, text):
        pass


class Watcher(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, "/StatusNotifierWatcher")
        self.items = []

    @dbus.service.method(WATCHER, in_signature="s", out_signature="", sender_keyword="sender")
    def RegisterStatusNotifierItem(self, service, sender=None):
        # libayatana-appindicator passes its object path; others pass a bus name.
        item = (str(sender), str(service)) if service.startswith("/") else (str(service), "/StatusNotifierItem")
        if item not in self.items:
            self.items.append(item)
        self.StatusNotifierItemRegistered(f"{item[0]}{item[1]}")

    @dbus.service.method(WATCHER, in_signature="s", out_signature="")
    def RegisterStatusNotifierHost(self, service):
        pass

    @dbus.service.signal(WATCHER, signature="s")
    def StatusNotifierItemRegistered(self, item):
        pass

    def _props(self):
        return {
            "RegisteredStatusNotifierItems": dbus.Array([f"{s}{p}" for s, p in self.items], signature="s"),
            "IsStatusNotifierHostRegistered": True,
            "ProtocolVersion": dbus.Int32(0),
        }

    @dbus.service.method(PROPS, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        return self._props()[name]

    @dbus.service.method(PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return self._props()


class Control(dbus.service.Object):
    def __init__(self, bus, notifications, watcher):
        super().__init__(bus, "/org/linqinbox/Standin")
        self.bus = bus
        self.notifications = notifications
        self.watcher = watcher

    @dbus.service.method(CONTROL, in_signature="", out_signature="s")
    def Notifications(self):
        return json.dumps(self.notifications.shown)

    @dbus.service.method(CONTROL, in_signature="us", out_signature="")
    def Reply(self, nid, text):
        self.notifications.NotificationReplied(nid, text)

    @dbus.service.method(CONTROL, in_signature="us", out_signature="")
    def Invoke(self, nid, key):
        self.notifications.ActionInvoked(nid, key)

    @dbus.service.method(CONTROL, in_signature="", out_signature="s")
    def Tray(self):
        """Each registered item as a panel sees it: its properties and its menu's labels."""
        items = []
        for service, path in self.watcher.items:
            try:
                obj = self.bus.get_object(service, path)
                props = plain(dbus.Interface(obj, PROPS).GetAll(ITEM))
                menu_path = props.get("Menu")
                labels = []
                if menu_path:
                    menu = dbus.Interface(self.bus.get_object(service, menu_path), MENU)
                    _, layout = menu.GetLayout(0, -1, dbus.Array([], signature="s"))
                    labels = [str(child[1].get("label", "")) for child in layout[2] if "label" in child[1]]
                items.append({"service": service, "path": path, "props": props, "menu": labels})
            except dbus.DBusException as e:
                items.append({"service": service, "path": path, "error": str(e)})
        return json.dumps(items)


def main():
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    notifications = Notifications(bus)
    watcher = Watcher(bus)
    Control(bus, notifications, watcher)
    # The names last, so a client that finds them finds the objects behind them.
    names = [dbus.service.BusName(n, bus) for n in (NOTIFICATIONS, WATCHER, CONTROL)]
    print("ready", flush=True)
    GLib.MainLoop().run()
    return names


if __name__ == "__main__":
    sys.exit(main() and 0)
