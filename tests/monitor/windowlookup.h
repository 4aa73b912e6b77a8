#pragma once

// Finding the parts of a MonitorWindow a test reads, by the object names monitorwindow.h lists.

#include "monitorwindow.h"

#include <QAbstractItemModel>
#include <QLabel>
#include <QString>
#include <QTableView>

namespace switchboard::test {

inline QTableView* table(const MonitorWindow& window, const char* name)
{
    auto* view = window.findChild<QTableView*>(QString::fromLatin1(name));
    if (!view) {
        qFatal("no table %s", name);
    }
    return view;
}

inline QLabel* label(const MonitorWindow& window, const char* name)
{
    auto* found = window.findChild<QLabel*>(QString::fromLatin1(name));
    if (!found) {
        qFatal("no label %s", name);
    }
    return found;
}

// The view row showing `text` in `column`, or -1.
inline int rowOf(const QTableView* view, int column, const QString& text)
{
    const QAbstractItemModel* model = view->model();
    for (int row = 0; row < model->rowCount(); ++row) {
        if (model->index(row, column).data().toString() == text) {
            return row;
        }
    }
    return -1;
}

} // namespace switchboard::test
